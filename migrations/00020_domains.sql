-- +goose Up
-- Custom domains: each hostname (or "*.example.com" wildcard) belongs to
-- exactly one app.
CREATE TABLE domains (
    id         bigserial PRIMARY KEY,
    app_id     bigint NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    hostname   text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT domains_hostname_key UNIQUE (hostname)
);
CREATE INDEX domains_app_id_idx ON domains (app_id);

-- Routers LISTEN on wharf_routes; a domain change notifies with the app's
-- name, like apps and processes rows do.
CREATE TRIGGER domains_notify_routes
    AFTER INSERT OR UPDATE OR DELETE ON domains
    FOR EACH ROW EXECUTE FUNCTION wharf_notify_process_routes();

-- +goose Down
DROP TRIGGER domains_notify_routes ON domains;
DROP TABLE domains;
