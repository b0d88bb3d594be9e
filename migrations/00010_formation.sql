-- +goose Up
-- A release carries its process types (Procfile: type → command) and the
-- health check its tree declared (app.json), so a rollback runs exactly
-- what that release ran.
ALTER TABLE releases ADD COLUMN process_types jsonb NOT NULL DEFAULT '{}';
ALTER TABLE releases ADD COLUMN health jsonb NOT NULL DEFAULT '{}';

-- The app's desired config: releases snapshot it; config:set --no-restart
-- changes only this.
CREATE TABLE config_vars (
    app_id bigint NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    key    text NOT NULL,
    value  text NOT NULL,
    PRIMARY KEY (app_id, key)
);
INSERT INTO config_vars (app_id, key, value)
SELECT DISTINCT ON (r.app_id, c.key) r.app_id, c.key, c.value
FROM releases r, jsonb_each_text(r.config) c
WHERE r.status = 'deployed'
  AND r.version = (SELECT max(version) FROM releases WHERE app_id = r.app_id AND status = 'deployed');

-- The formation: how many of each process type the app wants, and their
-- resources. Separate from releases: a new release keeps it.
CREATE TABLE formations (
    app_id   bigint NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    type     text NOT NULL,
    quantity integer NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    memory   bigint NOT NULL DEFAULT 0 CHECK (memory >= 0),
    cpus     double precision NOT NULL DEFAULT 0 CHECK (cpus >= 0),
    PRIMARY KEY (app_id, type)
);

-- Named volumes mounted into every process of the app.
CREATE TABLE volumes (
    app_id     bigint NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    name       text NOT NULL,
    path       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app_id, name),
    CONSTRAINT volumes_app_id_path_key UNIQUE (app_id, path)
);

-- +goose Down
DROP TABLE volumes;
DROP TABLE formations;
DROP TABLE config_vars;
ALTER TABLE releases DROP COLUMN health;
ALTER TABLE releases DROP COLUMN process_types;
