-- +goose Up
-- TLS certificates of an app's domains, shared by every router node. The
-- private key is stored as given (PEM): whoever reads this table can
-- impersonate the app's domains, like whoever reads the routers' disks.
CREATE TABLE certificates (
    id         bigserial PRIMARY KEY,
    app_id     bigint NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    names      text[] NOT NULL,
    cert_pem   text NOT NULL,
    key_pem    text NOT NULL,
    not_after  timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX certificates_app_id_idx ON certificates (app_id);

CREATE TRIGGER certificates_notify_routes
    AFTER INSERT OR UPDATE OR DELETE ON certificates
    FOR EACH ROW EXECUTE FUNCTION wharf_notify_process_routes();

-- +goose Down
DROP TRIGGER certificates_notify_routes ON certificates;
DROP TABLE certificates;
