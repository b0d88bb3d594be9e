package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// LogLine is one line an app's container wrote.
type LogLine struct {
	ID        int64     `json:"id"`
	App       string    `json:"app"`
	Process   string    `json:"process"` // e.g. web.1
	Container string    `json:"-"`
	Time      time.Time `json:"time"`
	Line      string    `json:"line"`
}

// AppendLogs stores lines in one round trip.
func (db *DB) AppendLogs(ctx context.Context, lines []LogLine) error {
	if len(lines) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, l := range lines {
		b.Queue(`INSERT INTO logs (app, process, container, ts, line) VALUES ($1, $2, $3, $4, $5)`,
			l.App, l.Process, l.Container, l.Time, l.Line)
	}
	return translate(db.pool.SendBatch(ctx, b).Close(), "appending logs")
}

// TrimLogs keeps only the newest keep lines of app.
func (db *DB) TrimLogs(ctx context.Context, app string, keep int) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM logs WHERE app = $1 AND id < (
		SELECT id FROM logs WHERE app = $1 ORDER BY id DESC OFFSET $2 LIMIT 1)`, app, keep-1)
	return translate(err, "trimming logs")
}

// DeleteLogs removes every line of app.
func (db *DB) DeleteLogs(ctx context.Context, app string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM logs WHERE app = $1`, app)
	return translate(err, "deleting logs")
}

// LastLogTime returns when the newest stored line of container was written;
// zero when there is none.
func (db *DB) LastLogTime(ctx context.Context, container string) (time.Time, error) {
	var t *time.Time
	err := db.pool.QueryRow(ctx, `SELECT max(ts) FROM logs WHERE container = $1`, container).Scan(&t)
	return timeOrZero(t), translate(err, "reading last log time")
}

// LogQuery selects lines of one app.
type LogQuery struct {
	App     string
	Process string // "web" or "web.1"; "" for all
	AfterID int64  // only lines with a larger id
	Limit   int    // the newest Limit lines (after AfterID); <= 0 means 100
}

// Logs returns the lines q selects, oldest first, in time order.
func (db *DB) Logs(ctx context.Context, q LogQuery) ([]LogLine, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	rows, err := db.pool.Query(ctx, `SELECT * FROM (
			SELECT id, app, process, container, ts, line FROM logs
			WHERE app = $1 AND id > $2 AND ($3 = '' OR process = $3 OR process LIKE $3 || '.%')
			ORDER BY id DESC LIMIT $4) l ORDER BY ts, id`, q.App, q.AfterID, q.Process, q.Limit)
	if err != nil {
		return nil, translate(err, "reading logs")
	}
	lines, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LogLine, error) {
		var l LogLine
		err := r.Scan(&l.ID, &l.App, &l.Process, &l.Container, &l.Time, &l.Line)
		return l, err
	})
	return lines, translate(err, "reading logs")
}
