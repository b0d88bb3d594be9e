package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wharfhq/wharf"
)

// Router settings are columns of apps: the body cap in bytes and the
// timeout in milliseconds, 0 for the router's default.

// RouterSettings returns app's router settings; ENOTFOUND when app does
// not exist.
func (db *DB) RouterSettings(ctx context.Context, app string) (wharf.RouterSettings, error) {
	s, err := scanRouterSettings(db.pool.QueryRow(ctx,
		`SELECT router_body_limit, router_timeout_ms FROM apps WHERE name = $1`, app))
	return s, translate(err, "reading router settings", missing(appNotFound(app)))
}

// ChangeRouterSettings applies c to app's router settings in one
// statement and returns them; ENOTFOUND when app does not exist.
func (db *DB) ChangeRouterSettings(ctx context.Context, app string, c wharf.RouterChange) (wharf.RouterSettings, error) {
	var timeoutMS *int64
	if c.Timeout != nil {
		ms := c.Timeout.Milliseconds()
		timeoutMS = &ms
	}
	s, err := scanRouterSettings(db.pool.QueryRow(ctx, `UPDATE apps
		SET router_body_limit = coalesce($2, router_body_limit), router_timeout_ms = coalesce($3, router_timeout_ms)
		WHERE name = $1 RETURNING router_body_limit, router_timeout_ms`, app, c.BodyLimit, timeoutMS))
	return s, translate(err, "changing router settings", missing(appNotFound(app)))
}

// AllRouterSettings returns the router settings of the apps that have
// any, by app name, for the routers.
func (db *DB) AllRouterSettings(ctx context.Context) (map[string]wharf.RouterSettings, error) {
	rows, err := db.pool.Query(ctx, `SELECT name, router_body_limit, router_timeout_ms FROM apps
		WHERE router_body_limit <> 0 OR router_timeout_ms <> 0`)
	if err != nil {
		return nil, translate(err, "listing router settings")
	}
	m := map[string]wharf.RouterSettings{}
	var name string
	var s wharf.RouterSettings
	var ms int64
	_, err = pgx.ForEachRow(rows, []any{&name, &s.BodyLimit, &ms}, func() error {
		s.Timeout = time.Duration(ms) * time.Millisecond
		m[name] = s
		return nil
	})
	if err != nil {
		return nil, translate(err, "listing router settings")
	}
	return m, nil
}

func scanRouterSettings(row pgx.Row) (wharf.RouterSettings, error) {
	var s wharf.RouterSettings
	var ms int64
	err := row.Scan(&s.BodyLimit, &ms)
	s.Timeout = time.Duration(ms) * time.Millisecond
	return s, err
}
