-- +goose Up
-- CertMagic's storage (ACME accounts, certificates, keys) and its locks,
-- so every router node shares certificates and only one asks the CA.
CREATE TABLE certmagic_data (
    key      text PRIMARY KEY,
    value    bytea NOT NULL,
    modified timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE certmagic_locks (
    name    text PRIMARY KEY,
    expires timestamptz NOT NULL
);

-- +goose Down
DROP TABLE certmagic_locks;
DROP TABLE certmagic_data;
