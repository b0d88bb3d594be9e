package swarmtest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem" // registers "filesystem"
	"github.com/sirupsen/logrus"
)

var quietLogrus sync.Once

// Registry serves an image registry in the test process until the test
// ends: distribution's registry (handlers.NewApp, the same server as the
// registry:2 image) with filesystem storage in a temporary directory, no
// TLS, no auth. addr is what to listen on, e.g. Swarm.Gateway+":0" for nodes
// of a Cluster (their engines trust that address as insecure) or
// "127.0.0.1:0" for the host engine (127.0.0.0/8 is insecure by default).
// It returns the host:port to qualify image names with.
func Registry(t testing.TB, addr string) string {
	t.Helper()
	// distribution logs through logrus's standard logger, one line per
	// request and an error line for every expected 404 of a push's blob
	// check. Nothing else in Wharf uses logrus; real failures surface as
	// push and pull errors.
	quietLogrus.Do(func() { logrus.SetOutput(io.Discard) })
	cfg := &configuration.Configuration{
		Storage: configuration.Storage{"filesystem": configuration.Parameters{"rootdirectory": t.TempDir()}},
	}
	cfg.HTTP.Secret = UniqueName("swarmtest-registry") // signs upload state; any value, one per registry
	cfg.Log.AccessLog.Disabled = true
	ctx, cancel := context.WithCancel(context.Background())
	app := handlers.NewApp(ctx, cfg)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		cancel()
		t.Fatalf("registry: listening on %s: %v", addr, err)
	}
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("registry: %v", err)
		}
		_ = app.Shutdown()
		cancel()
	})
	return ln.Addr().String()
}
