package store

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"
)

// RouterLog is one access-log entry of an app: the router's JSON, stored as is.
type RouterLog struct {
	App   string
	Entry json.RawMessage
}

// AddRouterLogs appends logs in one statement and trims every app it
// touched to its newest keep entries, so the log stays bounded.
func (db *DB) AddRouterLogs(ctx context.Context, logs []RouterLog, keep int) error {
	if len(logs) == 0 {
		return nil
	}
	apps := make([]string, len(logs))
	entries := make([]string, len(logs))
	seen := map[string]bool{}
	var touched []string
	for i, l := range logs {
		apps[i], entries[i] = l.App, string(l.Entry)
		if !seen[l.App] {
			seen[l.App] = true
			touched = append(touched, l.App)
		}
	}
	return db.inTx(ctx, "adding router logs", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO router_logs (app, entry)
			SELECT * FROM unnest($1::text[], $2::jsonb[])`, apps, entries); err != nil {
			return translate(err, "adding router logs")
		}
		_, err := tx.Exec(ctx, `DELETE FROM router_logs r USING unnest($1::text[]) AS t(app)
			WHERE r.app = t.app AND r.id <= (SELECT id FROM router_logs WHERE app = t.app ORDER BY id DESC OFFSET $2 LIMIT 1)`,
			touched, keep)
		return translate(err, "trimming router logs")
	})
}

// RouterLogs returns app's newest n access-log entries, oldest first.
func (db *DB) RouterLogs(ctx context.Context, app string, n int) ([]json.RawMessage, error) {
	rows, err := db.pool.Query(ctx, `SELECT entry FROM (SELECT id, entry FROM router_logs WHERE app = $1
		ORDER BY id DESC LIMIT $2) r ORDER BY id`, app, n)
	if err != nil {
		return nil, translate(err, "reading router logs")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (json.RawMessage, error) {
		var b []byte
		err := r.Scan(&b)
		return json.RawMessage(b), err
	})
	return out, translate(err, "reading router logs")
}
