-- +goose Up
-- Users log in to the dashboard; their API tokens and SSH keys name them as
-- owner. Admins see everything, members only the apps they are granted.
CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_name_key UNIQUE (name)
);

CREATE TABLE grants (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_id     bigint NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, app_id)
);

-- Dashboard sessions; only the hash of the cookie's value is stored.
CREATE TABLE sessions (
    hash       bytea PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

-- App output collected from containers. No foreign key: lines of an app
-- are trimmed per app by the collector, and deleted with the app.
CREATE TABLE logs (
    id        bigserial PRIMARY KEY,
    app       text NOT NULL,
    process   text NOT NULL,
    container text NOT NULL,
    ts        timestamptz NOT NULL,
    line      text NOT NULL
);
CREATE INDEX logs_app_idx ON logs (app, id);
CREATE INDEX logs_container_idx ON logs (container, ts);

-- +goose Down
DROP TABLE logs;
DROP TABLE sessions;
DROP TABLE grants;
DROP TABLE users;
