package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/wharfhq/wharf"
)

// Volumes returns the app's named volumes by name.
func (db *DB) Volumes(ctx context.Context, app string) ([]wharf.Volume, error) {
	id, err := appID(ctx, db.pool, app, false)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT name, path FROM volumes WHERE app_id = $1 ORDER BY name`, id)
	if err != nil {
		return nil, translate(err, "listing volumes")
	}
	vs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[wharf.Volume])
	return vs, translate(err, "listing volumes")
}

// AddVolume mounts v into the app's processes from the next deploy on.
func (db *DB) AddVolume(ctx context.Context, app string, v wharf.Volume) error {
	id, err := appID(ctx, db.pool, app, false)
	if err != nil {
		return err
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO volumes (app_id, name, path) VALUES ($1, $2, $3)`, id, v.Name, v.Path)
	return translate(err, "adding volume",
		conflict("volumes_pkey", fmt.Sprintf("volume %q is already mounted in %s", v.Name, app)),
		conflict("volumes_app_id_path_key", fmt.Sprintf("%s already has a volume mounted at %s", app, v.Path)))
}

// RemoveVolume unmounts the named volume (the data stays on disk).
func (db *DB) RemoveVolume(ctx context.Context, app, name string) error {
	id, err := appID(ctx, db.pool, app, false)
	if err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM volumes WHERE app_id = $1 AND name = $2`, id, name)
	if err != nil {
		return translate(err, "removing volume")
	}
	if tag.RowsAffected() == 0 {
		return wharf.Errorf(wharf.ENOTFOUND, "%s has no volume %q", app, name)
	}
	return nil
}
