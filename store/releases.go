package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/wharfhq/wharf"
)

const releaseColumns = `r.id, a.name, r.version, r.image, r.commit, r.config, r.status, r.created_by, r.description, r.created_at, r.process_types, r.health`

func scanRelease(row pgx.Row) (wharf.Release, error) {
	var r wharf.Release
	err := row.Scan(&r.ID, &r.App, &r.Version, &r.Image, &r.Commit, &r.Config, &r.Status, &r.CreatedBy, &r.Description, &r.CreatedAt, &r.ProcessTypes, &r.Health)
	if r.Config == nil {
		r.Config = map[string]string{}
	}
	if r.ProcessTypes == nil {
		r.ProcessTypes = map[string]string{}
	}
	return r, err
}

func collectReleases(rows pgx.Rows, op string) ([]wharf.Release, error) {
	rels, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wharf.Release, error) { return scanRelease(r) })
	return rels, translate(err, op)
}

func validReleaseStatus(status string) error {
	switch status {
	case wharf.ReleasePending, wharf.ReleaseDeployed, wharf.ReleaseFailed:
		return nil
	}
	return wharf.Errorf(wharf.EINVALID, "invalid release status %q: want %s, %s or %s",
		status, wharf.ReleasePending, wharf.ReleaseDeployed, wharf.ReleaseFailed)
}

// CreateRelease stores r as the next release of r.App: Version is set to
// one more than the app's highest, atomically (the app row is locked for
// the transaction). Status defaults to pending, Config to empty.
func (db *DB) CreateRelease(ctx context.Context, r wharf.Release) (wharf.Release, error) {
	if r.Status == "" {
		r.Status = wharf.ReleasePending
	}
	if err := validReleaseStatus(r.Status); err != nil {
		return wharf.Release{}, err
	}
	if r.Config == nil {
		r.Config = map[string]string{}
	}
	if r.ProcessTypes == nil {
		r.ProcessTypes = map[string]string{}
	}
	var out wharf.Release
	err := db.inTx(ctx, "creating release", func(tx pgx.Tx) error {
		id, err := appID(ctx, tx, r.App, true)
		if err != nil {
			return err
		}
		out, err = scanRelease(tx.QueryRow(ctx, `
			WITH r AS (
				INSERT INTO releases (app_id, version, image, commit, config, status, created_by, description, process_types, health)
				SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9 FROM releases WHERE app_id = $1
				RETURNING *
			)
			SELECT `+releaseColumns+` FROM r JOIN apps a ON a.id = r.app_id`,
			id, r.Image, r.Commit, r.Config, r.Status, r.CreatedBy, r.Description, r.ProcessTypes, r.Health))
		return translate(err, "creating release")
	})
	return out, err
}

// SetReleaseStatus sets the status of version of app.
func (db *DB) SetReleaseStatus(ctx context.Context, app string, version int, status string) error {
	if err := validReleaseStatus(status); err != nil {
		return err
	}
	id, err := appID(ctx, db.pool, app, false)
	if err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `UPDATE releases SET status = $3 WHERE app_id = $1 AND version = $2`, id, version, status)
	if err != nil {
		return translate(err, "setting release status")
	}
	if tag.RowsAffected() == 0 {
		return releaseNotFound(app, version)
	}
	return nil
}

func releaseNotFound(app string, version int) *wharf.Error {
	return wharf.Errorf(wharf.ENOTFOUND, "release v%d of app %q not found", version, app)
}

// CurrentRelease returns the newest deployed release of app; ENOTFOUND
// when it has none.
func (db *DB) CurrentRelease(ctx context.Context, app string) (wharf.Release, error) {
	id, err := appID(ctx, db.pool, app, false)
	if err != nil {
		return wharf.Release{}, err
	}
	r, err := scanRelease(db.pool.QueryRow(ctx, `SELECT `+releaseColumns+`
		FROM releases r JOIN apps a ON a.id = r.app_id
		WHERE r.app_id = $1 AND r.status = $2 ORDER BY r.version DESC LIMIT 1`, id, wharf.ReleaseDeployed))
	return r, translate(err, "getting current release", missing(fmt.Sprintf("app %q has no release yet", app)))
}

// GetRelease returns version of app; ENOTFOUND when there is none.
func (db *DB) GetRelease(ctx context.Context, app string, version int) (wharf.Release, error) {
	id, err := appID(ctx, db.pool, app, false)
	if err != nil {
		return wharf.Release{}, err
	}
	r, err := scanRelease(db.pool.QueryRow(ctx, `SELECT `+releaseColumns+`
		FROM releases r JOIN apps a ON a.id = r.app_id WHERE r.app_id = $1 AND r.version = $2`, id, version))
	return r, translate(err, "getting release", missing(releaseNotFound(app, version).Message))
}

// ListReleases returns the releases of app, newest first.
func (db *DB) ListReleases(ctx context.Context, app string) ([]wharf.Release, error) {
	id, err := appID(ctx, db.pool, app, false)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT `+releaseColumns+`
		FROM releases r JOIN apps a ON a.id = r.app_id WHERE r.app_id = $1 ORDER BY r.version DESC`, id)
	if err != nil {
		return nil, translate(err, "listing releases")
	}
	return collectReleases(rows, "listing releases")
}

// FailPendingReleases marks every pending release failed: at start, a
// release still pending was interrupted by a crash and never went live.
// It returns how many it marked.
func (db *DB) FailPendingReleases(ctx context.Context) (int64, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE releases SET status = $1 WHERE status = $2`, wharf.ReleaseFailed, wharf.ReleasePending)
	if err != nil {
		return 0, translate(err, "failing interrupted releases")
	}
	return tag.RowsAffected(), nil
}
