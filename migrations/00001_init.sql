-- +goose Up
CREATE TABLE apps (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT apps_name_key UNIQUE (name)
);

CREATE TABLE keys (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    owner       text NOT NULL DEFAULT '',
    fingerprint text NOT NULL,
    public_key  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT keys_name_key UNIQUE (name),
    CONSTRAINT keys_fingerprint_key UNIQUE (fingerprint)
);

CREATE TABLE tokens (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL DEFAULT '',
    owner      text NOT NULL,
    hash       bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tokens_hash_key UNIQUE (hash)
);

CREATE TABLE builds (
    id          bigserial PRIMARY KEY,
    app_id      bigint NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    commit      text NOT NULL DEFAULT '',
    status      text NOT NULL,
    image       text NOT NULL DEFAULT '',
    output      text NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX builds_app_id_idx ON builds (app_id, id);

CREATE TABLE releases (
    id          bigserial PRIMARY KEY,
    app_id      bigint NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    version     integer NOT NULL,
    image       text NOT NULL,
    commit      text NOT NULL DEFAULT '',
    config      jsonb NOT NULL DEFAULT '{}',
    status      text NOT NULL,
    created_by  text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT releases_app_id_version_key UNIQUE (app_id, version)
);

CREATE TABLE processes (
    container_id   text PRIMARY KEY,
    app_id         bigint NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    release        integer NOT NULL,
    type           text NOT NULL,
    instance       integer NOT NULL,
    container_name text NOT NULL DEFAULT '',
    addr           text NOT NULL DEFAULT '',
    state          text NOT NULL DEFAULT '',
    started_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX processes_app_id_idx ON processes (app_id);

-- No foreign key: an app's history outlives the app.
CREATE TABLE events (
    id         bigserial PRIMARY KEY,
    app        text,
    actor      text NOT NULL DEFAULT '',
    kind       text NOT NULL,
    message    text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_app_idx ON events (app, id);

-- Routers LISTEN on wharf_routes; the payload is the name of the app whose
-- routes (apps or processes rows) changed.
-- +goose StatementBegin
CREATE FUNCTION wharf_notify_app_routes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('wharf_routes', OLD.name);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('wharf_routes', NEW.name);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION wharf_notify_process_routes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    app_name text;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        SELECT name INTO app_name FROM apps WHERE id = OLD.app_id;
        -- NULL when the app itself is being deleted; its own trigger notifies.
        IF app_name IS NOT NULL THEN
            PERFORM pg_notify('wharf_routes', app_name);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        SELECT name INTO app_name FROM apps WHERE id = NEW.app_id;
        IF app_name IS NOT NULL THEN
            PERFORM pg_notify('wharf_routes', app_name);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER apps_notify_routes
    AFTER INSERT OR UPDATE OR DELETE ON apps
    FOR EACH ROW EXECUTE FUNCTION wharf_notify_app_routes();

CREATE TRIGGER processes_notify_routes
    AFTER INSERT OR UPDATE OR DELETE ON processes
    FOR EACH ROW EXECUTE FUNCTION wharf_notify_process_routes();

-- +goose Down
DROP TRIGGER processes_notify_routes ON processes;
DROP TRIGGER apps_notify_routes ON apps;
DROP FUNCTION wharf_notify_process_routes();
DROP FUNCTION wharf_notify_app_routes();
DROP TABLE events;
DROP TABLE processes;
DROP TABLE releases;
DROP TABLE builds;
DROP TABLE tokens;
DROP TABLE keys;
DROP TABLE apps;
