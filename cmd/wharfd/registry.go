package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem" // registers "filesystem"
	"github.com/sirupsen/logrus"
)

// registryServer is Wharf's built-in image registry (wharfd serve
// --registry-listen): distribution's registry, the server of the registry:2
// image, with its blobs under DATA/registry, so swarm nodes can pull
// release images without a registry of the operator's. It has no TLS and
// no auth: serve it on a private network, and list it among each node's
// Docker insecure-registries (README: "Running apps on a swarm").
type registryServer struct {
	srv *http.Server
	app *handlers.App
}

func newRegistryServer(dataDir string) (*registryServer, error) {
	dir := filepath.Join(dataDir, "registry")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("registry storage: %w", err)
	}
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	// distribution logs every request through logrus's global logger;
	// failures reach Wharf as push and pull errors instead.
	logrus.SetOutput(io.Discard)
	cfg := &configuration.Configuration{
		Storage: configuration.Storage{"filesystem": configuration.Parameters{"rootdirectory": dir}},
	}
	cfg.HTTP.Secret = hex.EncodeToString(secret)
	cfg.Log.AccessLog.Disabled = true
	app, err := newRegistryApp(cfg)
	if err != nil {
		return nil, err
	}
	return &registryServer{app: app, srv: &http.Server{Handler: app, ReadHeaderTimeout: 30 * time.Second}}, nil
}

// newRegistryApp is handlers.NewApp, which panics on a bad configuration.
func newRegistryApp(cfg *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("starting the registry: %v", r)
		}
	}()
	return handlers.NewApp(context.Background(), cfg), nil
}

func (r *registryServer) serve(ln net.Listener) error {
	err := r.srv.Serve(ln)
	_ = r.app.Shutdown()
	if err != nil && !errors.Is(err, http.ErrServerClosed) && !strings.Contains(err.Error(), "use of closed") {
		return fmt.Errorf("registry: %w", err)
	}
	return nil
}
