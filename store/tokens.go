package store

import (
	"context"

	"github.com/wharfhq/wharf"
)

// AddToken stores the hash of an API token for owner. Adding the same hash
// again changes nothing.
func (db *DB) AddToken(ctx context.Context, name, owner string, hash []byte) error {
	if len(hash) == 0 {
		return wharf.Errorf(wharf.EINVALID, "token %q has an empty hash", name)
	}
	_, err := db.pool.Exec(ctx,
		`INSERT INTO tokens (name, owner, hash) VALUES ($1, $2, $3) ON CONFLICT (hash) DO NOTHING`,
		name, owner, hash)
	return translate(err, "adding token")
}

// TokenOwner returns the owner of the token whose hash is hash;
// EUNAUTHORIZED "invalid token" when there is none.
func (db *DB) TokenOwner(ctx context.Context, hash []byte) (string, error) {
	var owner string
	err := db.pool.QueryRow(ctx, `SELECT owner FROM tokens WHERE hash = $1`, hash).Scan(&owner)
	return owner, translate(err, "looking up token", unauthorized("invalid token"))
}
