-- +goose Up
-- Per-app router settings (wharf router:set): the request body cap in bytes
-- and the longest wait for the app in milliseconds; 0 means the router's
-- default. The apps trigger notifies wharf_routes on the change.
ALTER TABLE apps
    ADD COLUMN router_body_limit bigint NOT NULL DEFAULT 0 CHECK (router_body_limit >= 0),
    ADD COLUMN router_timeout_ms bigint NOT NULL DEFAULT 0 CHECK (router_timeout_ms >= 0);

-- +goose Down
ALTER TABLE apps DROP COLUMN router_timeout_ms, DROP COLUMN router_body_limit;
