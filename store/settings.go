package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// EnsureSetting returns the value stored under key, storing value first when
// there is none. Concurrent callers all get the one value that won.
func (db *DB) EnsureSetting(ctx context.Context, key, value string) (string, error) {
	var got string
	var err error
	// A statement racing another's insert can see neither its own insert
	// (conflict) nor the other's row (older snapshot): then ask again.
	for range 3 {
		err = db.pool.QueryRow(ctx, `
			WITH ins AS (
				INSERT INTO settings (key, value) VALUES ($1, $2)
				ON CONFLICT (key) DO NOTHING
				RETURNING value
			)
			SELECT value FROM ins
			UNION ALL
			SELECT value FROM settings WHERE key = $1
			LIMIT 1`, key, value).Scan(&got)
		if !errors.Is(err, pgx.ErrNoRows) {
			break
		}
	}
	return got, translate(err, "reading setting "+key)
}
