package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Event is one line of the audit history: who did what to which app. Events
// outlive the app they are about.
type Event struct {
	ID        int64     `json:"id"`
	App       string    `json:"app"`
	Actor     string    `json:"actor"`
	Kind      string    `json:"kind"`
	Message   string    `json:"message"`
	CreatedAt time.Time `json:"created_at"`
}

// AddEvent records an event; app "" means it concerns no app. The app need
// not exist (a "destroyed" event comes after the app is gone).
func (db *DB) AddEvent(ctx context.Context, app, actor, kind, message string) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO events (app, actor, kind, message) VALUES (nullif($1, ''), $2, $3, $4)`,
		app, actor, kind, message)
	return translate(err, "adding event")
}

// ListEvents returns up to limit events, newest first: those of app, or of
// everything when app is "". limit <= 0 means no limit. Events of deleted
// apps are still listed, so an unknown app is not an error.
func (db *DB) ListEvents(ctx context.Context, app string, limit int) ([]Event, error) {
	var lim any
	if limit > 0 {
		lim = limit
	}
	rows, err := db.pool.Query(ctx, `SELECT id, coalesce(app, ''), actor, kind, message, created_at FROM events
		WHERE $1 = '' OR app = $1 ORDER BY id DESC LIMIT $2`, app, lim)
	if err != nil {
		return nil, translate(err, "listing events")
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
		var e Event
		err := r.Scan(&e.ID, &e.App, &e.Actor, &e.Kind, &e.Message, &e.CreatedAt)
		return e, err
	})
	return events, translate(err, "listing events")
}
