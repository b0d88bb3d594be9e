package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/wharfhq/wharf"
)

// Formation returns the app's formation rows by type: the quantities and
// resources set so far. Types never scaled have no row.
func (db *DB) Formation(ctx context.Context, app string) ([]wharf.Formation, error) {
	id, err := appID(ctx, db.pool, app, false)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT type, quantity, memory, cpus FROM formations WHERE app_id = $1 ORDER BY type`, id)
	if err != nil {
		return nil, translate(err, "reading formation")
	}
	fs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wharf.Formation, error) {
		var f wharf.Formation
		err := r.Scan(&f.Type, &f.Quantity, &f.Memory, &f.CPUs)
		return f, err
	})
	return fs, translate(err, "reading formation")
}

// ScaleFormation sets the quantity of each type in qty, keeping resources.
func (db *DB) ScaleFormation(ctx context.Context, app string, qty map[string]int) error {
	return db.inTx(ctx, "scaling", func(tx pgx.Tx) error {
		id, err := appID(ctx, tx, app, true)
		if err != nil {
			return err
		}
		for typ, n := range qty {
			_, err := tx.Exec(ctx, `INSERT INTO formations (app_id, type, quantity) VALUES ($1, $2, $3)
				ON CONFLICT (app_id, type) DO UPDATE SET quantity = excluded.quantity`, id, typ, n)
			if err != nil {
				return translate(err, "scaling")
			}
		}
		return nil
	})
}

// SetResources sets the memory and CPUs of one type; quantity stays (a new
// row gets defaultQty).
func (db *DB) SetResources(ctx context.Context, app string, f wharf.Formation, defaultQty int) error {
	return db.inTx(ctx, "setting resources", func(tx pgx.Tx) error {
		id, err := appID(ctx, tx, app, true)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO formations (app_id, type, quantity, memory, cpus) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (app_id, type) DO UPDATE SET memory = excluded.memory, cpus = excluded.cpus`,
			id, f.Type, defaultQty, f.Memory, f.CPUs)
		return translate(err, "setting resources")
	})
}
