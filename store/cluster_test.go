package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/store"
)

func TestClusterReuseAndRestart(t *testing.T) {
	testenv.Binary(t, "initdb")
	testenv.Binary(t, "pg_ctl")
	ctx := ctxT(t)
	// Deep enough that dir/run would overflow a unix socket path.
	dir := filepath.Join(t.TempDir(), strings.Repeat("long-directory-name-", 5), "postgres")
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	c, err := store.StartCluster(ctx, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(context.Background()) })
	sock := socketDir(t, c.URL())
	if len(sock) > 90 || strings.HasPrefix(sock, dir) {
		t.Fatalf("socket dir %q is not a short private dir", sock)
	}
	db, err := store.Open(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	mustApp(t, db, "kept")
	db.Close()

	// A second start while the server runs (a crashed daemon's postmaster)
	// adopts it.
	again, err := store.StartCluster(ctx, dir, log)
	if err != nil {
		t.Fatalf("StartCluster on a running cluster: %v", err)
	}
	if again.URL() != c.URL() {
		t.Fatalf("reused cluster URL %q, want %q", again.URL(), c.URL())
	}

	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	writeStalePid(t, dir)
	c3, err := store.StartCluster(ctx, dir, log)
	if err != nil {
		t.Fatalf("StartCluster after stop with a stale postmaster.pid: %v", err)
	}
	t.Cleanup(func() { c3.Stop(context.Background()) })
	db, err = store.Open(ctx, c3.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.GetApp(ctx, "kept"); err != nil {
		t.Fatalf("data lost across restart: %v", err)
	}
}

func TestStartClusterFailureSaysWhy(t *testing.T) {
	testenv.Binary(t, "initdb")
	dir := t.TempDir()
	c, err := store.StartCluster(ctxT(t), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(context.Background()) })
	// A broken postgresql.conf must fail the next start with the server's
	// own words.
	if err := c.Stop(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "postgresql.conf")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "shared_buffers = 'lots'")
	f.Close()
	_, err = store.StartCluster(ctxT(t), dir, nil)
	if err == nil || !strings.Contains(err.Error(), "starting postgres") || !strings.Contains(err.Error(), "shared_buffers") {
		t.Fatalf("StartCluster with a broken config = %v; want an error quoting the postgres log", err)
	}
	if testing.Verbose() {
		t.Logf("error: %v", err)
	}
}

func socketDir(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("host")
}

// writeStalePid leaves a postmaster.pid naming a process that does not exist,
// as a crash of the whole machine would.
func writeStalePid(t *testing.T, dir string) {
	path := filepath.Join(dir, "postmaster.pid")
	content := fmt.Sprintf("999999\n%s\n1700000000\n5432\n/tmp\n\n  1234567   1234\nready   \n", dir)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok { // the cluster user must own it
		if err := os.Chown(path, int(st.Uid), int(st.Gid)); err != nil {
			t.Fatal(err)
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
