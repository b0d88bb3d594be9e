package store

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Blobs is a small key/value store with slash-separated keys and named
// locks that expire, shared by every node: CertMagic keeps ACME accounts
// and certificates in it.
type Blobs struct{ db *DB }

// Blobs returns the blob store.
func (db *DB) Blobs() Blobs { return Blobs{db: db} }

// BlobInfo describes a key.
type BlobInfo struct {
	Key      string
	Modified time.Time
	Size     int64
	IsDir    bool
}

// Put stores value at key.
func (b Blobs) Put(ctx context.Context, key string, value []byte) error {
	_, err := b.db.pool.Exec(ctx, `INSERT INTO certmagic_data (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, modified = now()`, key, value)
	return translate(err, "storing blob")
}

// Get returns the value at key; fs.ErrNotExist when there is none.
func (b Blobs) Get(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := b.db.pool.QueryRow(ctx, `SELECT value FROM certmagic_data WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fs.ErrNotExist
	}
	return v, translate(err, "loading blob")
}

// Delete removes key and every key under key/.
func (b Blobs) Delete(ctx context.Context, key string) error {
	_, err := b.db.pool.Exec(ctx, `DELETE FROM certmagic_data WHERE key = $1 OR starts_with(key, $1 || '/')`, key)
	return translate(err, "deleting blob")
}

// Stat describes key, a value or a directory of values; fs.ErrNotExist
// when it is neither.
func (b Blobs) Stat(ctx context.Context, key string) (BlobInfo, error) {
	var info BlobInfo
	err := b.db.pool.QueryRow(ctx, `SELECT modified, length(value) FROM certmagic_data WHERE key = $1`, key).Scan(&info.Modified, &info.Size)
	if err == nil {
		info.Key = key
		return info, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return info, translate(err, "stat blob")
	}
	var n int
	if err := b.db.pool.QueryRow(ctx, `SELECT count(*) FROM certmagic_data WHERE starts_with(key, $1 || '/')`, key).Scan(&n); err != nil {
		return info, translate(err, "stat blob")
	}
	if n == 0 {
		return info, fs.ErrNotExist
	}
	return BlobInfo{Key: key, IsDir: true}, nil
}

// List returns the keys under prefix: all of them when recursive, else
// the immediate children (values or directories).
func (b Blobs) List(ctx context.Context, prefix string, recursive bool) ([]string, error) {
	rows, err := b.db.pool.Query(ctx, `SELECT key FROM certmagic_data WHERE $1 = '' OR starts_with(key, $1 || '/') ORDER BY key`, prefix)
	if err != nil {
		return nil, translate(err, "listing blobs")
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, translate(err, "listing blobs")
	}
	if recursive {
		return keys, nil
	}
	base := prefix
	if base != "" {
		base += "/"
	}
	var out []string
	seen := map[string]bool{}
	for _, k := range keys {
		child, _, _ := strings.Cut(strings.TrimPrefix(k, base), "/")
		if !seen[child] {
			seen[child] = true
			out = append(out, base+child)
		}
	}
	if len(out) == 0 {
		return nil, fs.ErrNotExist
	}
	return out, nil
}

// TryLock takes the lock name for ttl unless another holder's lock is
// still valid, and reports whether it did.
func (b Blobs) TryLock(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	tag, err := b.db.pool.Exec(ctx, `INSERT INTO certmagic_locks (name, expires) VALUES ($1, now() + make_interval(secs => $2))
		ON CONFLICT (name) DO UPDATE SET expires = excluded.expires WHERE certmagic_locks.expires < now()`,
		name, ttl.Seconds())
	if err != nil {
		return false, translate(err, "taking lock")
	}
	return tag.RowsAffected() == 1, nil
}

// Unlock releases the lock name.
func (b Blobs) Unlock(ctx context.Context, name string) error {
	_, err := b.db.pool.Exec(ctx, `DELETE FROM certmagic_locks WHERE name = $1`, name)
	return translate(err, "releasing lock")
}
