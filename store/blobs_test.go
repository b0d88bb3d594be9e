package store_test

import (
	"errors"
	"io/fs"
	"slices"
	"testing"
	"time"
)

func TestBlobs(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	b := db.Blobs()
	for k, v := range map[string]string{"acme/a/cert": "1", "acme/a/key": "22", "acme/b/cert": "3", "other": "4"} {
		if err := b.Put(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Put(ctx, "acme/a/key", []byte("333")); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Get(ctx, "acme/a/key"); err != nil || string(v) != "333" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if _, err := b.Get(ctx, "acme/none"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get of a missing key: %v", err)
	}
	if info, err := b.Stat(ctx, "acme/a/key"); err != nil || info.IsDir || info.Size != 3 || info.Modified.IsZero() {
		t.Fatalf("Stat(file) = %+v, %v", info, err)
	}
	if info, err := b.Stat(ctx, "acme/a"); err != nil || !info.IsDir {
		t.Fatalf("Stat(dir) = %+v, %v", info, err)
	}
	if _, err := b.Stat(ctx, "acm"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat of a partial component: %v", err)
	}
	if keys, err := b.List(ctx, "acme", false); err != nil || !slices.Equal(keys, []string{"acme/a", "acme/b"}) {
		t.Fatalf("List = %q, %v", keys, err)
	}
	if keys, err := b.List(ctx, "acme", true); err != nil || len(keys) != 3 {
		t.Fatalf("List recursive = %q, %v", keys, err)
	}
	if err := b.Delete(ctx, "acme/a"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := b.List(ctx, "", true); !slices.Equal(keys, []string{"acme/b/cert", "other"}) {
		t.Fatalf("after Delete(dir): %q", keys)
	}

	if ok, err := b.TryLock(ctx, "issue", time.Minute); err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	if ok, _ := b.TryLock(ctx, "issue", time.Minute); ok {
		t.Fatal("a held lock was taken again")
	}
	if err := b.Unlock(ctx, "issue"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.TryLock(ctx, "issue", 10*time.Millisecond); !ok {
		t.Fatal("a released lock could not be taken")
	}
	time.Sleep(50 * time.Millisecond)
	if ok, _ := b.TryLock(ctx, "issue", time.Minute); !ok {
		t.Fatal("an expired lock could not be taken")
	}
}
