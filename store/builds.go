package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wharfhq/wharf"
)

const buildColumns = `b.id, a.name, b.commit, b.status, b.image, b.output, b.started_at, b.finished_at`

func scanBuild(row pgx.Row) (wharf.Build, error) {
	var b wharf.Build
	var finished *time.Time
	err := row.Scan(&b.ID, &b.App, &b.Commit, &b.Status, &b.Image, &b.Output, &b.StartedAt, &finished)
	b.FinishedAt = timeOrZero(finished)
	return b, err
}

// CreateBuild records a running build of commit for app.
func (db *DB) CreateBuild(ctx context.Context, app, commit string) (wharf.Build, error) {
	b, err := scanBuild(db.pool.QueryRow(ctx, `
		WITH b AS (
			INSERT INTO builds (app_id, commit, status)
			SELECT id, $2, $3 FROM apps WHERE name = $1
			RETURNING *
		)
		SELECT `+buildColumns+` FROM b JOIN apps a ON a.id = b.app_id`,
		app, commit, wharf.BuildRunning))
	return b, translate(err, "creating build", missing(appNotFound(app)))
}

// FinishBuild records the outcome of build id; ENOTFOUND when there is no
// such build.
func (db *DB) FinishBuild(ctx context.Context, id int64, status, image, output string) error {
	switch status {
	case wharf.BuildSucceeded, wharf.BuildFailed:
	default:
		return wharf.Errorf(wharf.EINVALID, "invalid build status %q: want %s or %s", status, wharf.BuildSucceeded, wharf.BuildFailed)
	}
	tag, err := db.pool.Exec(ctx,
		`UPDATE builds SET status = $2, image = $3, output = $4, finished_at = now() WHERE id = $1`,
		id, status, image, output)
	if err != nil {
		return translate(err, "finishing build")
	}
	if tag.RowsAffected() == 0 {
		return wharf.Errorf(wharf.ENOTFOUND, "build %d not found", id)
	}
	return nil
}

// ListBuilds returns the builds of app, newest first.
func (db *DB) ListBuilds(ctx context.Context, app string) ([]wharf.Build, error) {
	id, err := appID(ctx, db.pool, app, false)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT `+buildColumns+`
		FROM builds b JOIN apps a ON a.id = b.app_id WHERE b.app_id = $1 ORDER BY b.id DESC`, id)
	if err != nil {
		return nil, translate(err, "listing builds")
	}
	builds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wharf.Build, error) { return scanBuild(r) })
	return builds, translate(err, "listing builds")
}

// GetBuild returns app's build id with its output, or its newest build when
// id is 0; ENOTFOUND when there is none.
func (db *DB) GetBuild(ctx context.Context, app string, id int64) (wharf.Build, error) {
	appID, err := appID(ctx, db.pool, app, false)
	if err != nil {
		return wharf.Build{}, err
	}
	notFound := fmt.Sprintf("build %d of %s not found", id, app)
	if id == 0 {
		notFound = app + " has no builds yet"
	}
	b, err := scanBuild(db.pool.QueryRow(ctx, `SELECT `+buildColumns+`
		FROM builds b JOIN apps a ON a.id = b.app_id
		WHERE b.app_id = $1 AND ($2 = 0 OR b.id = $2) ORDER BY b.id DESC LIMIT 1`, appID, id))
	return b, translate(err, "reading build", missing(notFound))
}
