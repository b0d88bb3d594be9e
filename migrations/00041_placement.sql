-- +goose Up
-- Swarm placement constraints of an app (wharf ps:placement), applied to
-- every service of the app, e.g. {node.labels.tier==web,node.role!=manager}.
-- A table of its own rather than a column of apps, whose trigger would make
-- every router node reload its routes on a change that is not theirs.
CREATE TABLE placements (
    app_id      bigint PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    constraints text[] NOT NULL CHECK (cardinality(constraints) > 0),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE placements;
