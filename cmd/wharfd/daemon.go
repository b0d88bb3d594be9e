package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/docker/docker/client"
	"golang.org/x/sync/errgroup"

	"github.com/wharfhq/wharf/builder"
	"github.com/wharfhq/wharf/deploy"
	"github.com/wharfhq/wharf/gitreceiver"
	"github.com/wharfhq/wharf/logs"
	"github.com/wharfhq/wharf/router"
	"github.com/wharfhq/wharf/store"
	"github.com/wharfhq/wharf/web"
)

// shutdownGrace bounds how long in-flight pushes and requests may take to
// finish after SIGTERM.
const shutdownGrace = 60 * time.Second

// Daemon is a running wharfd: every part wired together. Tests start the
// real binary; Open/Run/Close is what its main does.
type Daemon struct {
	cfg      Config
	log      *slog.Logger
	cluster  *store.Cluster
	db       *store.DB
	docker   *client.Client
	router   *router.Router
	tls      *routerTLS // the router's HTTPS listener and ACME (https.go)
	deployer scheduler
	registry *registryServer // nil unless --registry-listen
	git      *gitreceiver.Server
	platform *platform
	logs     *logs.Collector
	obs      *routerObs // access log store and metrics (routerlogs.go, metrics.go)
	ready    atomic.Bool
}

// Open prepares the data dir, the database, the Docker client and every
// component, without listening yet.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (d *Daemon, err error) {
	d = &Daemon{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data dir: %w", err)
	}
	if err := d.openDatabase(ctx); err != nil {
		return nil, err
	}
	if err := ensureAdminToken(ctx, d.db, cfg.DataDir, log); err != nil {
		return nil, err
	}
	if err := ensureAdminUser(ctx, d.db, cfg.DataDir, log); err != nil {
		return nil, err
	}
	if err := d.openDocker(ctx); err != nil {
		return nil, err
	}
	installation, err := d.db.EnsureSetting(ctx, "installation_id", randomID())
	if err != nil {
		return nil, fmt.Errorf("reading the installation id: %w", err)
	}
	return d, d.wire(installation)
}

func (d *Daemon) openDatabase(ctx context.Context) error {
	url := d.cfg.DatabaseURL
	if url == "" {
		c, err := store.StartCluster(ctx, filepath.Join(d.cfg.DataDir, "postgres"), d.log)
		if err != nil {
			return fmt.Errorf("starting the private Postgres cluster: %w", err)
		}
		d.cluster = c
		url = c.URL()
	}
	db, err := store.Open(ctx, url)
	if err != nil {
		return fmt.Errorf("opening the database: %w", err)
	}
	d.db = db
	return nil
}

func (d *Daemon) openDocker(ctx context.Context) error {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	d.docker = cli
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(pingCtx); err != nil {
		return fmt.Errorf("the Docker Engine does not answer (is dockerd running?): %w", err)
	}
	if d.cfg.Scheduler != "swarm" {
		return nil
	}
	info, err := cli.Info(pingCtx)
	if err != nil {
		return fmt.Errorf("docker info: %w", err)
	}
	if !info.Swarm.ControlAvailable {
		return fmt.Errorf("--scheduler swarm needs this Docker Engine to be a swarm manager (it is %q): run `docker swarm init` here first", info.Swarm.LocalNodeState)
	}
	return nil
}

// wire builds the components. installation labels this installation's
// containers, so daemons sharing a Docker Engine never touch each other's.
func (d *Daemon) wire(installation string) error {
	d.obs = newRouterObs(d.db, d.log, func() router.Stats { return d.router.Stats() })
	ropts := router.Options{Logger: d.log, AccessLog: accessLogs(accessLogger(d.log), d.obs.record)}
	tlsSide, err := newRouterTLS(d.cfg.HTTPS, d.db, &ropts, d.log)
	if err != nil {
		return err
	}
	d.tls = tlsSide
	d.router = router.New(ropts)
	d.platform = newPlatform(d.cfg, d.db, d.docker, d.router, d.log)
	opts := deploy.Options{Docker: d.docker, Store: d.db, Routes: d.platform, Logger: d.log, Installation: installation,
		OnCrash: d.platform.recordCrash}
	if d.cfg.Scheduler == "swarm" {
		sw := deploy.NewSwarm(opts, deploy.SwarmOptions{Registry: d.cfg.Registry})
		d.deployer, d.platform.nodes = sw, sw
	} else {
		d.deployer = deploy.New(opts)
	}
	d.platform.deployer = d.deployer
	buildOpts, err := builderOptions(os.Getenv)
	if err != nil {
		return err
	}
	d.platform.builder = builder.New(d.docker, d.log, buildOpts...)
	collector, err := newLogCollector(d.cfg, d.docker, d.db, installation, d.log)
	if err != nil {
		return err
	}
	d.logs = collector
	hookBinary, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the wharfd binary for git hooks: %w", err)
	}
	d.git, err = gitreceiver.New(gitreceiver.Config{
		Addr:        d.cfg.SSHAddr,
		HostKeyPath: filepath.Join(d.cfg.DataDir, "ssh_host_ed25519_key"),
		ReposDir:    d.platform.reposDir,
		SocketPath:  filepath.Join(d.cfg.DataDir, "hook.sock"),
		HookBinary:  hookBinary,
		Keys:        d.db,
		Apps:        d.db,
		Pushes:      d.platform,
		Access:      d.platform,
		Logger:      d.log,
	})
	if err != nil {
		return fmt.Errorf("git receiver: %w", err)
	}
	return nil
}

// Run adopts running containers, starts every listener and blocks until ctx
// ends, then shuts down gracefully: pushes in flight finish, app containers
// keep running.
func (d *Daemon) Run(ctx context.Context) error {
	if err := d.platform.adopt(ctx); err != nil {
		return fmt.Errorf("adopting running apps: %w", err)
	}
	if err := d.router.Sync(ctx, d.platform); err != nil {
		return fmt.Errorf("loading routes: %w", err)
	}
	apiSrv := &http.Server{Handler: d.obs.withMetrics(web.NewHandler(d.platform, d.log)), ReadHeaderTimeout: 30 * time.Second}
	ls, err := d.listen()
	if err != nil {
		return err
	}
	servers := []*http.Server{apiSrv}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(ls.router.Wait)
	g.Go(func() error { return serveHTTP(apiSrv, ls.api) })
	if ls.https != nil {
		httpsSrv := d.tls.server(d.router)
		servers = append(servers, httpsSrv)
		g.Go(func() error { return serveHTTPS(httpsSrv, ls.https) })
	}
	g.Go(func() error { return d.git.Serve(gctx, ls.ssh) })
	if ls.registry != nil {
		g.Go(func() error { return d.registry.serve(ls.registry) })
		servers = append(servers, d.registry.srv)
	}
	g.Go(func() error { d.watchRoutes(gctx); return nil })
	// Self-healing: keep every app's current release running as its
	// formation says (crashed, removed and orphaned containers).
	g.Go(func() error { d.deployer.Reconcile(gctx, d.platform.desired, 5*time.Second); return nil })
	g.Go(func() error { d.obs.sink.run(gctx); return nil })
	g.Go(func() error { d.logs.Run(gctx); return nil })
	g.Go(func() error {
		<-gctx.Done()
		return errors.Join(stopFront(ls.router), d.shutdown(servers...))
	})
	d.ready.Store(true)
	d.platform.ready.Store(true)
	d.log.Info("wharfd is ready", "ssh", ls.ssh.Addr().String(), "http", ls.router.Addr().String(), "https", d.cfg.HTTPS.Addr,
		"api", ls.api.Addr().String(), "domain", d.cfg.Domain, "data", d.cfg.DataDir)
	err = g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// listeners are the daemon's listening sockets; https is nil without an
// HTTPS address.
type listeners struct {
	router                    *router.Front // serving from the start
	https, api, ssh, registry net.Listener
}

// listen opens every listener, or none: on an error the ones opened are closed.
func (d *Daemon) listen() (ls listeners, err error) {
	defer func() {
		if err != nil {
			ls.close()
		}
	}()
	if ls.router, err = d.tls.front(d.router, d.cfg.HTTPAddr); err != nil {
		return ls, err
	}
	if ls.https, err = d.tls.listen(); err != nil {
		return ls, err
	}
	if ls.api, err = net.Listen("tcp", d.cfg.APIAddr); err != nil {
		return ls, fmt.Errorf("API listen: %w", err)
	}
	if ls.ssh, err = net.Listen("tcp", d.cfg.SSHAddr); err != nil {
		return ls, fmt.Errorf("SSH listen: %w", err)
	}
	if d.cfg.RegistryListen != "" {
		if d.registry, err = newRegistryServer(d.cfg.DataDir); err != nil {
			return ls, err
		}
		if ls.registry, err = net.Listen("tcp", d.cfg.RegistryListen); err != nil {
			return ls, fmt.Errorf("registry listen: %w", err)
		}
	}
	return ls, nil
}

func (ls listeners) close() {
	if ls.router != nil {
		stopFront(ls.router)
	}
	for _, ln := range []net.Listener{ls.https, ls.api, ls.ssh, ls.registry} {
		if ln != nil {
			ln.Close()
		}
	}
}

func serveHTTP(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (d *Daemon) shutdown(servers ...*http.Server) error {
	d.platform.ready.Store(false)
	d.log.Info("wharfd is shutting down: finishing pushes in flight; app containers keep running")
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var errs []error
	if err := d.git.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("git receiver shutdown: %w", err))
	}
	for _, s := range servers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	return errors.Join(errs...)
}

// watchRoutes keeps the router's table current from Postgres notifications,
// with a periodic full resync so a lost notification heals itself.
func (d *Daemon) watchRoutes(ctx context.Context) {
	changes := make(chan struct{}, 1)
	go func() {
		err := d.db.Listen(ctx, store.RoutesChannel, func(string) {
			d.obs.metrics.notifiedAt(time.Now())
			select {
			case changes <- struct{}{}:
			default:
			}
		})
		if err != nil && ctx.Err() == nil {
			d.log.Error("route notifications stopped", "err", err)
		}
	}()
	d.router.Watch(ctx, d.obs.metrics.source(d.tls.source(ctx, d.platform, d.cfg.Domain)), changes, 5*time.Second)
}

// Close releases what Open acquired. The private Postgres cluster is stopped;
// app containers are left running for the next start to adopt.
func (d *Daemon) Close() {
	if d.db != nil {
		d.db.Close()
	}
	if d.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := d.cluster.Stop(ctx); err != nil {
			d.log.Error("stopping the private Postgres cluster", "err", err)
		}
		cancel()
	}
	if d.docker != nil {
		d.docker.Close()
	}
}
