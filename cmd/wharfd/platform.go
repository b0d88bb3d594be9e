package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/client"
	"golang.org/x/crypto/ssh"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/builder"
	"github.com/wharfhq/wharf/deploy"
	"github.com/wharfhq/wharf/gitreceiver"
	"github.com/wharfhq/wharf/router"
	"github.com/wharfhq/wharf/store"
	"github.com/wharfhq/wharf/web"
)

// platform is Wharf's application layer: what a push, an API call or a route
// lookup means, in terms of the store, the builder, the deployer and the
// router. It implements web.Service, gitreceiver.PushHandler, router.Source
// and deploy.RouteSyncer.
type platform struct {
	cfg      Config
	db       *store.DB
	docker   client.APIClient
	router   *router.Router
	deployer scheduler
	nodes    nodeManager // nil unless the scheduler runs a swarm
	builder  *builder.Builder
	log      *slog.Logger
	reposDir string
	locks    appLocks
	ready    atomic.Bool
}

var (
	_ web.Service             = (*platform)(nil)
	_ gitreceiver.PushHandler = (*platform)(nil)
	_ router.Source           = (*platform)(nil)
	_ deploy.RouteSyncer      = (*platform)(nil)
)

func newPlatform(cfg Config, db *store.DB, docker client.APIClient, r *router.Router, log *slog.Logger) *platform {
	return &platform{cfg: cfg, db: db, docker: docker, router: r, log: log, reposDir: filepath.Join(cfg.DataDir, "repos")}
}

// scheduler runs releases: deploy.Deployer on this engine, or deploy.Swarm
// on a swarm (wharfd serve --scheduler).
type scheduler interface {
	Deploy(ctx context.Context, s deploy.Spec, out io.Writer) error
	Scale(ctx context.Context, s deploy.Spec, out io.Writer) error
	Restart(ctx context.Context, s deploy.Spec, processType string, out io.Writer) error
	Processes(ctx context.Context, app string) ([]wharf.Process, error)
	Destroy(ctx context.Context, app string) error
	Adopt(ctx context.Context, current map[string]deploy.Spec) error
	CollectGarbage(ctx context.Context, app string, keep []string) error
	RemoveVolumes(ctx context.Context, app string, names []string) error
	Reconcile(ctx context.Context, desired func(context.Context) (map[string]deploy.Spec, error), every time.Duration)
}

// nodeManager is what a swarm scheduler adds: its nodes.
type nodeManager interface {
	Nodes(ctx context.Context) ([]wharf.Node, error)
	DrainNode(ctx context.Context, name string, out io.Writer) error
	ActivateNode(ctx context.Context, name string) error
}

var (
	_ scheduler   = (*deploy.Deployer)(nil)
	_ scheduler   = (*deploy.Swarm)(nil)
	_ nodeManager = (*deploy.Swarm)(nil)
)

// appLocks serializes work on one app (pushes, destroys) while letting
// different apps proceed at once.
type appLocks struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func (l *appLocks) lock(app string) (unlock func()) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*sync.Mutex{}
	}
	m, ok := l.locks[app]
	if !ok {
		m = &sync.Mutex{}
		l.locks[app] = m
	}
	l.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// appURL is where the router serves an app.
func (p *platform) appURL(app string) string {
	url := "http://" + app + "." + p.cfg.Domain
	if _, port, err := net.SplitHostPort(p.cfg.HTTPAddr); err == nil && port != "80" {
		url += ":" + port
	}
	return url
}

func (p *platform) gitRemote(app string) string {
	host, port, err := net.SplitHostPort(p.cfg.SSHAddr)
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return fmt.Sprintf("ssh://git@%s/%s.git", net.JoinHostPort(host, port), app)
}

// Routes is the router's view of the database: each app's default host,
// its custom domains and the addresses of its running web processes.
func (p *platform) Routes(ctx context.Context) ([]router.Route, error) {
	return loadRoutes(ctx, p.db, p.cfg.Domain)
}

// SyncRoutes makes this node's router reload its table now, so a deploy can
// stop old containers knowing no new request goes to them.
func (p *platform) SyncRoutes(ctx context.Context) error {
	return p.router.Sync(ctx, p)
}

// adopt hands the deployer every app's current release at start, so running
// containers are kept and leftovers of an interrupted deploy removed.
func (p *platform) adopt(ctx context.Context) error {
	// A release still pending was cut short by a crash: it never went live.
	if n, err := p.db.FailPendingReleases(ctx); err != nil {
		return err
	} else if n > 0 {
		p.log.Warn("marked releases interrupted by a restart as failed", "count", n)
	}
	current, err := p.desired(ctx)
	if err != nil {
		return err
	}
	return p.deployer.Adopt(ctx, current)
}

// parsePublicKey accepts one authorized_keys line and returns it normalized
// with its SHA256 fingerprint and comment.
func parsePublicKey(line string) (normalized, fingerprint, comment string, err error) {
	pk, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(line)))
	if err != nil {
		return "", "", "", wharf.Errorf(wharf.EINVALID, "not an SSH public key (expected one line such as the content of ~/.ssh/id_ed25519.pub): %v", err)
	}
	normalized = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
	return normalized, ssh.FingerprintSHA256(pk), comment, nil
}
