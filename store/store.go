// Package store owns Wharf's state in Postgres: it is the only package that
// speaks SQL. It opens a pgx pool, applies the embedded migrations, offers
// one set of methods per aggregate (apps, keys, tokens, builds, releases,
// processes, events), turns database errors into coded wharf errors, relays
// LISTEN/NOTIFY, and can run a private Postgres cluster for the daemon.
package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/migrations"
)

// migrationLockID is the advisory lock that serialises migrations between
// daemons starting at once.
const migrationLockID = 0x77686172 // "whar"

// DB is Wharf's database: a connection pool to a migrated schema.
type DB struct {
	pool *pgxpool.Pool
}

// Open connects to the database at url, checks that it answers, and applies
// any pending migrations under an advisory lock, so concurrent Opens are
// safe and a second Open changes nothing.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, wharf.Errorf(wharf.EINVALID, "invalid database URL: %v", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening database pool: %w", err)
	}
	db := &DB{pool: pool}
	if err := db.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) migrate(ctx context.Context) error {
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("creating migration lock: %w", err)
	}
	sqlDB := stdlib.OpenDBFromPool(db.pool)
	defer sqlDB.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS,
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true),
		// Features number their migrations in their own ranges (10s, 20s, …);
		// one landing after another must still apply.
		goose.WithAllowOutofOrder(true))
	if err != nil {
		return fmt.Errorf("loading migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return translate(err, "applying migrations")
	}
	return nil
}

// Close closes every connection of the pool.
func (db *DB) Close() { db.pool.Close() }

// Ping checks that the database answers; EUNAVAILABLE when it does not.
func (db *DB) Ping(ctx context.Context) error {
	return translate(db.pool.Ping(ctx), "pinging database")
}

// querier is what pool and transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// inTx runs fn in a transaction, committing when fn returns nil.
func (db *DB) inTx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return translate(err, op)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
	if err := fn(tx); err != nil {
		return err
	}
	return translate(tx.Commit(ctx), op)
}

// appID returns the id of the app named name, locking its row when forUpdate.
func appID(ctx context.Context, q querier, name string, forUpdate bool) (int64, error) {
	sql := `SELECT id FROM apps WHERE name = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	var id int64
	err := q.QueryRow(ctx, sql, name).Scan(&id)
	return id, translate(err, "looking up app", missing(appNotFound(name)))
}

func appNotFound(name string) string { return fmt.Sprintf("app %q not found", name) }

// timeOrZero turns a nullable timestamp into a time, zero for NULL.
func timeOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
