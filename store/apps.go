package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/wharfhq/wharf"
)

const appColumns = `id, name, created_at`

func scanApp(row pgx.Row) (wharf.App, error) {
	var a wharf.App
	err := row.Scan(&a.ID, &a.Name, &a.CreatedAt)
	return a, err
}

// CreateApp creates the app named name; ECONFLICT when it exists.
func (db *DB) CreateApp(ctx context.Context, name string) (wharf.App, error) {
	if err := wharf.ValidateAppName(name); err != nil {
		return wharf.App{}, err
	}
	a, err := scanApp(db.pool.QueryRow(ctx,
		`INSERT INTO apps (name) VALUES ($1) RETURNING `+appColumns, name))
	return a, translate(err, "creating app", conflict("apps_name_key", fmt.Sprintf("app %q already exists", name)))
}

// EnsureApp returns the app named name, creating it when missing; the bool
// reports whether it was created by this call.
func (db *DB) EnsureApp(ctx context.Context, name string) (wharf.App, bool, error) {
	if err := wharf.ValidateAppName(name); err != nil {
		return wharf.App{}, false, err
	}
	a, err := scanApp(db.pool.QueryRow(ctx,
		`INSERT INTO apps (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING `+appColumns, name))
	if err == nil {
		return a, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return wharf.App{}, false, translate(err, "creating app")
	}
	a, err = db.GetApp(ctx, name)
	return a, false, err
}

// GetApp returns the app named name; ENOTFOUND when there is none.
func (db *DB) GetApp(ctx context.Context, name string) (wharf.App, error) {
	a, err := scanApp(db.pool.QueryRow(ctx, `SELECT `+appColumns+` FROM apps WHERE name = $1`, name))
	return a, translate(err, "getting app", missing(appNotFound(name)))
}

// ListApps returns every app, by name.
func (db *DB) ListApps(ctx context.Context) ([]wharf.App, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+appColumns+` FROM apps ORDER BY name`)
	if err != nil {
		return nil, translate(err, "listing apps")
	}
	apps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wharf.App, error) { return scanApp(r) })
	return apps, translate(err, "listing apps")
}

// DeleteApp deletes the app named name with its builds, releases and
// processes; its events stay. ENOTFOUND when there is no such app.
func (db *DB) DeleteApp(ctx context.Context, name string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM apps WHERE name = $1`, name)
	if err != nil {
		return translate(err, "deleting app")
	}
	if tag.RowsAffected() == 0 {
		return wharf.Errorf(wharf.ENOTFOUND, "%s", appNotFound(name))
	}
	return nil
}
