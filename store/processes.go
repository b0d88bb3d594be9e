package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/wharfhq/wharf"
)

const processColumns = `a.name, p.release, p.type, p.instance, p.container_id, p.container_name, p.addr, p.state, p.started_at`

func scanProcess(row pgx.Row) (wharf.Process, error) {
	var p wharf.Process
	err := row.Scan(&p.App, &p.Release, &p.Type, &p.Instance, &p.ContainerID, &p.ContainerName, &p.Addr, &p.State, &p.StartedAt)
	return p, err
}

func collectProcesses(rows pgx.Rows, op string) ([]wharf.Process, error) {
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wharf.Process, error) { return scanProcess(r) })
	return ps, translate(err, op)
}

// SetProcesses replaces every process row of app with ps in one
// transaction; the routes trigger notifies RoutesChannel with the app's
// name. The App field of each process is ignored; a zero StartedAt means now.
func (db *DB) SetProcesses(ctx context.Context, app string, ps []wharf.Process) error {
	for _, p := range ps {
		if p.ContainerID == "" {
			return wharf.Errorf(wharf.EINVALID, "process %s.%d of app %q has no container id", p.Type, p.Instance, app)
		}
	}
	return db.inTx(ctx, "setting processes", func(tx pgx.Tx) error {
		id, err := appID(ctx, tx, app, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM processes WHERE app_id = $1`, id); err != nil {
			return translate(err, "setting processes")
		}
		for _, p := range ps {
			var started any
			if !p.StartedAt.IsZero() {
				started = p.StartedAt
			}
			_, err := tx.Exec(ctx, `INSERT INTO processes
				(container_id, app_id, release, type, instance, container_name, addr, state, started_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9, now()))`,
				p.ContainerID, id, p.Release, p.Type, p.Instance, p.ContainerName, p.Addr, p.State, started)
			if err != nil {
				return translate(err, "setting processes",
					conflict("processes_pkey", "container "+p.ContainerID+" is listed twice or belongs to another app"))
			}
		}
		return nil
	})
}

// ListProcesses returns the processes of app by type and instance.
func (db *DB) ListProcesses(ctx context.Context, app string) ([]wharf.Process, error) {
	id, err := appID(ctx, db.pool, app, false)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT `+processColumns+`
		FROM processes p JOIN apps a ON a.id = p.app_id WHERE p.app_id = $1
		ORDER BY p.type, p.instance, p.container_id`, id)
	if err != nil {
		return nil, translate(err, "listing processes")
	}
	return collectProcesses(rows, "listing processes")
}

// AllProcesses returns the processes of every app, by app, type and instance.
func (db *DB) AllProcesses(ctx context.Context) ([]wharf.Process, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+processColumns+`
		FROM processes p JOIN apps a ON a.id = p.app_id
		ORDER BY a.name, p.type, p.instance, p.container_id`)
	if err != nil {
		return nil, translate(err, "listing processes")
	}
	return collectProcesses(rows, "listing processes")
}
