package store_test

import (
	"bytes"
	"testing"

	"github.com/wharfhq/wharf"
)

func TestKeys(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	k := wharf.Key{Name: "alice@laptop", Owner: "alice", Fingerprint: "SHA256:aaa", PublicKey: "ssh-ed25519 AAAA alice"}
	added, err := db.AddKey(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if added.ID == 0 || added.CreatedAt.IsZero() || added.Name != k.Name || added.Owner != "alice" || added.PublicKey != k.PublicKey {
		t.Fatalf("AddKey = %+v", added)
	}

	dupName := k
	dupName.Fingerprint = "SHA256:bbb"
	_, err = db.AddKey(ctx, dupName)
	wantErr(t, err, wharf.ECONFLICT, `key "alice@laptop" already exists`)
	dupFP := k
	dupFP.Name = "other"
	_, err = db.AddKey(ctx, dupFP)
	wantErr(t, err, wharf.ECONFLICT, `a key with fingerprint SHA256:aaa is already added`)
	bad := k
	bad.Name = "has space"
	_, err = db.AddKey(ctx, bad)
	wantCode(t, err, wharf.EINVALID)

	got, err := db.KeyByFingerprint(ctx, "SHA256:aaa")
	if err != nil || got != added {
		t.Fatalf("KeyByFingerprint = %+v, %v; want %+v", got, err, added)
	}
	_, err = db.KeyByFingerprint(ctx, "SHA256:zzz")
	wantCode(t, err, wharf.ENOTFOUND)

	if _, err := db.AddKey(ctx, wharf.Key{Name: "bob", Fingerprint: "SHA256:bob", PublicKey: "ssh-ed25519 BBBB"}); err != nil {
		t.Fatal(err)
	}
	keys, err := db.ListKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].Name != "alice@laptop" || keys[1].Name != "bob" {
		t.Fatalf("ListKeys = %+v, %v", keys, err)
	}

	if err := db.RemoveKey(ctx, "alice@laptop"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, db.RemoveKey(ctx, "alice@laptop"), wharf.ENOTFOUND, `key "alice@laptop" not found`)
	_, err = db.KeyByFingerprint(ctx, "SHA256:aaa")
	wantCode(t, err, wharf.ENOTFOUND)
}

func TestTokens(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	hash := bytes.Repeat([]byte{0xab}, 32)
	if err := db.AddToken(ctx, "ci", "alice", hash); err != nil {
		t.Fatal(err)
	}
	if err := db.AddToken(ctx, "ci", "alice", hash); err != nil {
		t.Fatalf("adding the same token again: %v", err)
	}
	owner, err := db.TokenOwner(ctx, hash)
	if err != nil || owner != "alice" {
		t.Fatalf("TokenOwner = %q, %v; want alice", owner, err)
	}
	_, err = db.TokenOwner(ctx, bytes.Repeat([]byte{0xcd}, 32))
	wantErr(t, err, wharf.EUNAUTHORIZED, "invalid token")
}
