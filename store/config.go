package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// ConfigVars returns the app's desired config: what the next release gets.
func (db *DB) ConfigVars(ctx context.Context, app string) (map[string]string, error) {
	id, err := appID(ctx, db.pool, app, false)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT key, value FROM config_vars WHERE app_id = $1`, id)
	if err != nil {
		return nil, translate(err, "reading config")
	}
	defer rows.Close()
	cfg := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, translate(err, "reading config")
		}
		cfg[k] = v
	}
	return cfg, translate(rows.Err(), "reading config")
}

// SetConfigVars replaces the app's desired config with cfg.
func (db *DB) SetConfigVars(ctx context.Context, app string, cfg map[string]string) error {
	return db.inTx(ctx, "setting config", func(tx pgx.Tx) error {
		id, err := appID(ctx, tx, app, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM config_vars WHERE app_id = $1`, id); err != nil {
			return translate(err, "setting config")
		}
		for k, v := range cfg {
			if _, err := tx.Exec(ctx, `INSERT INTO config_vars (app_id, key, value) VALUES ($1, $2, $3)`, id, k, v); err != nil {
				return translate(err, "setting config")
			}
		}
		return nil
	})
}
