package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/store"
)

// listen runs db.Listen on RoutesChannel until the test ends and returns
// the payloads it delivers.
func listen(t *testing.T, db *store.DB) <-chan string {
	ctx, cancel := context.WithCancel(context.Background())
	payloads := make(chan string, 100)
	done := make(chan error, 1)
	go func() { done <- db.Listen(ctx, store.RoutesChannel, func(p string) { payloads <- p }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Listen returned %v, want context.Canceled", err)
		}
	})
	return payloads
}

func expectPayload(t *testing.T, payloads <-chan string, want string, within time.Duration) {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case p := <-payloads:
			if p == want {
				return
			}
			t.Logf("skipping payload %q while waiting for %q", p, want)
		case <-timeout:
			t.Fatalf("no payload %q within %v", want, within)
		}
	}
}

func TestListenSurvivesClusterRestart(t *testing.T) {
	c, dir := testenv.PostgresCluster(t)
	ctx := ctxT(t)
	db, err := store.Open(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	payloads := listen(t, db)
	expectPayload(t, payloads, "", 5*time.Second) // listening

	mustApp(t, db, "web")
	expectPayload(t, payloads, "web", time.Second) // the apps trigger
	procs := []wharf.Process{{ContainerID: "c1", Type: "web", Instance: 1, Release: 1, Addr: "127.0.0.1:1"}}
	if err := db.SetProcesses(ctx, "web", procs); err != nil {
		t.Fatal(err)
	}
	expectPayload(t, payloads, "web", time.Second)

	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = db.ListApps(ctx)
	wantCode(t, err, wharf.EUNAVAILABLE)
	if msg := wharf.ErrorMessage(err); !strings.HasPrefix(msg, "database unavailable: ") {
		t.Fatalf("message = %q, want it to start with database unavailable", msg)
	}
	wantCode(t, db.Ping(ctx), wharf.EUNAVAILABLE)
	_, err = store.Open(ctx, c.URL())
	wantCode(t, err, wharf.EUNAVAILABLE)

	c2, err := store.StartCluster(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Stop(context.Background())
	expectPayload(t, payloads, "", 10*time.Second) // reconnected: resync
	procs[0].ContainerID = "c2"
	if err := db.SetProcesses(ctx, "web", procs); err != nil {
		t.Fatalf("SetProcesses after restart: %v", err)
	}
	expectPayload(t, payloads, "web", time.Second)
}
