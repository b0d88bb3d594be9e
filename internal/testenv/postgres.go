package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wharfhq/wharf/store"
)

// DatabaseURLEnv names a Postgres server tests may use instead of starting
// a private cluster; each test gets a new database on it.
const DatabaseURLEnv = "WHARF_TEST_DATABASE_URL"

// Postgres returns the URL of a fresh, empty database for this test: on the
// server named by WHARF_TEST_DATABASE_URL when set (the database is dropped
// at cleanup), else on a private cluster started in a temporary directory
// and stopped at cleanup. Missing Postgres binaries call Missing.
func Postgres(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := os.Getenv(DatabaseURLEnv)
	if base == "" {
		base = startTestCluster(ctx, t)
	}
	name := "wharf_test_" + randomHex(t)
	admin := connect(ctx, t, base)
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() { dropDatabase(t, base, name) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parsing database URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// PostgresCluster starts a private cluster in a temporary directory, stopped
// at cleanup, for tests that stop and restart it themselves.
func PostgresCluster(t testing.TB) (*store.Cluster, string) {
	t.Helper()
	for _, bin := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := exec.LookPath(bin); err != nil {
			Missing(t, "Postgres is not installed (%s: %v)", bin, err)
		}
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := store.StartCluster(ctx, dir, nil)
	if err != nil {
		t.Fatalf("starting postgres cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("stopping postgres cluster: %v", err)
		}
	})
	return c, dir
}

func startTestCluster(ctx context.Context, t testing.TB) string {
	c, _ := PostgresCluster(t)
	return c.URL()
}

func connect(ctx context.Context, t testing.TB, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connecting to test postgres: %v", err)
	}
	return conn
}

func dropDatabase(t testing.TB, base, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return // a private cluster may already be stopped
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("dropping test database %s: %v", name, err)
	}
}

func randomHex(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random: %v", err)
	}
	return hex.EncodeToString(b)
}
