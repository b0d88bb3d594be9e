package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/wharfhq/wharf"
)

const keyColumns = `id, name, owner, fingerprint, public_key, created_at`

func scanKey(row pgx.Row) (wharf.Key, error) {
	var k wharf.Key
	err := row.Scan(&k.ID, &k.Name, &k.Owner, &k.Fingerprint, &k.PublicKey, &k.CreatedAt)
	return k, err
}

// AddKey stores k (its name checked with wharf.ValidateKeyName) and returns
// it with ID and CreatedAt set; ECONFLICT when its name or its fingerprint
// is taken.
func (db *DB) AddKey(ctx context.Context, k wharf.Key) (wharf.Key, error) {
	if err := wharf.ValidateKeyName(k.Name); err != nil {
		return wharf.Key{}, err
	}
	if k.Fingerprint == "" || k.PublicKey == "" {
		return wharf.Key{}, wharf.Errorf(wharf.EINVALID, "key %q has no public key or fingerprint", k.Name)
	}
	out, err := scanKey(db.pool.QueryRow(ctx,
		`INSERT INTO keys (name, owner, fingerprint, public_key) VALUES ($1, $2, $3, $4) RETURNING `+keyColumns,
		k.Name, k.Owner, k.Fingerprint, k.PublicKey))
	return out, translate(err, "adding key",
		conflict("keys_name_key", fmt.Sprintf("key %q already exists", k.Name)),
		conflict("keys_fingerprint_key", fmt.Sprintf("a key with fingerprint %s is already added", k.Fingerprint)))
}

// ListKeys returns every key, by name.
func (db *DB) ListKeys(ctx context.Context) ([]wharf.Key, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+keyColumns+` FROM keys ORDER BY name`)
	if err != nil {
		return nil, translate(err, "listing keys")
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wharf.Key, error) { return scanKey(r) })
	return keys, translate(err, "listing keys")
}

// KeyByFingerprint returns the key with fingerprint fp; ENOTFOUND when none.
func (db *DB) KeyByFingerprint(ctx context.Context, fp string) (wharf.Key, error) {
	k, err := scanKey(db.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM keys WHERE fingerprint = $1`, fp))
	return k, translate(err, "looking up key", missing(fmt.Sprintf("no key with fingerprint %s", fp)))
}

// RemoveKey removes the key named name; ENOTFOUND when there is none.
func (db *DB) RemoveKey(ctx context.Context, name string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM keys WHERE name = $1`, name)
	if err != nil {
		return translate(err, "removing key")
	}
	if tag.RowsAffected() == 0 {
		return wharf.Errorf(wharf.ENOTFOUND, "key %q not found", name)
	}
	return nil
}
