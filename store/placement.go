package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// Placement returns the app's placement constraints in the order they were
// set; empty (not nil) when it has none. ENOTFOUND when app does not exist.
func (db *DB) Placement(ctx context.Context, app string) ([]string, error) {
	id, err := appID(ctx, db.pool, app, false)
	if err != nil {
		return nil, err
	}
	out := []string{}
	err = db.pool.QueryRow(ctx, `SELECT constraints FROM placements WHERE app_id = $1`, id).Scan(&out)
	if errors.Is(err, pgx.ErrNoRows) {
		return []string{}, nil
	}
	return out, translate(err, "reading placement")
}

// SetPlacement replaces the app's placement constraints (already
// validated by wharf.ParsePlacement); an empty list removes them.
func (db *DB) SetPlacement(ctx context.Context, app string, constraints []string) error {
	id, err := appID(ctx, db.pool, app, false)
	if err != nil {
		return err
	}
	if len(constraints) == 0 {
		_, err = db.pool.Exec(ctx, `DELETE FROM placements WHERE app_id = $1`, id)
		return translate(err, "clearing placement")
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO placements (app_id, constraints) VALUES ($1, $2)
		ON CONFLICT (app_id) DO UPDATE SET constraints = excluded.constraints, updated_at = now()`, id, constraints)
	return translate(err, "setting placement")
}
