-- +goose Up
-- The router's access log, per app, kept bounded by the writer (the last N
-- entries of each app). No foreign key: routers write in batches and an
-- entry for an app destroyed meanwhile is harmless.
CREATE TABLE router_logs (
    id    bigserial PRIMARY KEY,
    app   text NOT NULL,
    entry jsonb NOT NULL
);
CREATE INDEX router_logs_app_idx ON router_logs (app, id);

-- +goose Down
DROP TABLE router_logs;
