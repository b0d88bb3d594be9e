package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/store"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// openDB returns a migrated store on a fresh database.
func openDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(ctxT(t), testenv.Postgres(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// wantCode fails unless err carries the wharf error code want.
func wantCode(t testing.TB, err error, want string) {
	t.Helper()
	if got := wharf.ErrorCode(err); got != want {
		t.Fatalf("error code = %q (%v), want %q", got, err, want)
	}
}

// wantErr fails unless err has code and exactly the user-facing message msg.
func wantErr(t testing.TB, err error, code, msg string) {
	t.Helper()
	wantCode(t, err, code)
	if got := wharf.ErrorMessage(err); got != msg {
		t.Fatalf("error message = %q, want %q", got, msg)
	}
}

func TestOpenTwiceIsIdempotent(t *testing.T) {
	url := testenv.Postgres(t)
	ctx := ctxT(t)
	db1, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("first Open: %v", err)
	}
	defer db1.Close()
	if _, err := db1.CreateApp(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	db2, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer db2.Close()
	if _, err := db2.GetApp(ctx, "kept"); err != nil {
		t.Fatalf("data lost after second Open: %v", err)
	}
}

func TestConcurrentOpensOnFreshDatabase(t *testing.T) {
	url := testenv.Postgres(t)
	ctx := ctxT(t)
	const n = 3
	var wg sync.WaitGroup
	errs := make([]error, n)
	dbs := make([]*store.DB, n)
	for i := range n {
		wg.Go(func() { dbs[i], errs[i] = store.Open(ctx, url) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Open %d: %v", i, errs[i])
		}
		defer dbs[i].Close()
	}
	if _, err := dbs[0].CreateApp(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if _, err := dbs[n-1].GetApp(ctx, "web"); err != nil {
		t.Fatal(err)
	}
}

func TestOpenBadURL(t *testing.T) {
	_, err := store.Open(ctxT(t), "postgres://x:%zz@/")
	wantCode(t, err, wharf.EINVALID)
}

func mustApp(t testing.TB, db *store.DB, name string) wharf.App {
	t.Helper()
	a, err := db.CreateApp(ctxT(t), name)
	if err != nil {
		t.Fatalf("CreateApp(%q): %v", name, err)
	}
	return a
}
