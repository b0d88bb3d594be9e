-- +goose Up
-- Installation-wide settings, e.g. the installation id that labels its containers.
CREATE TABLE settings (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE settings;
