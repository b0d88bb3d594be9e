-- +goose Up
-- Apps whose plain-HTTP requests the routers redirect to HTTPS. The apps
-- trigger notifies wharf_routes on the change.
ALTER TABLE apps ADD COLUMN redirect_https boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE apps DROP COLUMN redirect_https;
