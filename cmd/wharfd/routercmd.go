package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/wharfhq/wharf/router"
	"github.com/wharfhq/wharf/store"
)

// routerConfig is what `wharfd router` can be told.
type routerConfig struct {
	DatabaseURL string
	HTTPAddr    string
	HTTPS       httpsConfig
	MetricsAddr string
	Domain      string
	LogFormat   string
	Resync      time.Duration
	Trusted     []netip.Prefix
}

func parseRouterConfig(args []string, getenv func(string) string, stderr io.Writer) (routerConfig, error) {
	var c routerConfig
	fs := flag.NewFlagSet("wharfd router", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := getenv("WHARF_DATABASE_URL")
	if dbURL == "" {
		dbURL = getenv("DATABASE_URL")
	}
	fs.StringVar(&c.DatabaseURL, "database-url", dbURL, "Postgres URL of the Wharf installation (env WHARF_DATABASE_URL or DATABASE_URL)")
	fs.StringVar(&c.HTTPAddr, "http-addr", ":8080", "router listen address")
	c.HTTPS.register(func(p *string, name, def, help string) { fs.StringVar(p, name, def, help) })
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "127.0.0.1:9100", "Prometheus /metrics listen address; empty: none")
	fs.StringVar(&c.Domain, "domain", "localhost", "apps are served at <app>.<domain>, as by wharfd serve")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.DurationVar(&c.Resync, "resync", 5*time.Second, "full reload of the routes, healing lost notifications")
	trusted := fs.String("trusted-proxies", "", "comma-separated CIDRs (e.g. 10.0.0.0/8) of load balancers whose X-Forwarded-* headers are kept")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, errHelp
		}
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case c.DatabaseURL == "":
		return c, fmt.Errorf("--database-url is required: the router reads its routes from the installation's Postgres")
	case c.LogFormat != "text" && c.LogFormat != "json":
		return c, fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat)
	case c.Resync <= 0:
		return c, fmt.Errorf("--resync must be positive")
	}
	if err := c.HTTPS.validate(); err != nil {
		return c, err
	}
	c.Domain = strings.ToLower(strings.Trim(c.Domain, "."))
	for _, s := range strings.Split(*trusted, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return c, fmt.Errorf("--trusted-proxies: %q is not a CIDR such as 10.0.0.0/8", s)
		}
		c.Trusted = append(c.Trusted, p)
	}
	return c, nil
}

// routerMain is `wharfd router`: the router alone, no SSH, builds or API,
// so several nodes can serve the same apps. Routes come from Postgres by
// LISTEN/NOTIFY plus a periodic full reload; while Postgres is away the
// last table keeps serving.
func routerMain(ctx context.Context, args []string, stderr io.Writer) int {
	cfg, err := parseRouterConfig(args, os.Getenv, stderr)
	if errors.Is(err, errHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "wharfd router: %v\n", err)
		return 2
	}
	log := newLogger(cfg.LogFormat, stderr).With("component", "router")
	db, err := openWithRetry(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return 1
	}
	defer db.Close()
	if err := runRouter(ctx, cfg, db, log); err != nil {
		log.Error("wharfd router stopped with an error", "err", err)
		return 1
	}
	return 0
}

// openWithRetry opens the store, retrying while Postgres is unreachable.
func openWithRetry(ctx context.Context, url string, log *slog.Logger) (*store.DB, error) {
	for {
		db, err := store.Open(ctx, url)
		if err == nil {
			return db, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		log.Warn("waiting for the database", "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// runRouter serves until ctx ends.
func runRouter(ctx context.Context, cfg routerConfig, db *store.DB, log *slog.Logger) error {
	var r *router.Router
	obs := newRouterObs(db, log, func() router.Stats { return r.Stats() })
	metrics := obs.metrics
	opts := router.Options{Logger: log, AccessLog: obs.record, TrustedProxies: cfg.Trusted}
	tlsSide, err := newRouterTLS(cfg.HTTPS, db, &opts, log)
	if err != nil {
		return err
	}
	r = router.New(opts)
	defer r.CloseIdleConnections()
	src := metrics.source(tlsSide.source(ctx, router.SourceFunc(func(sctx context.Context) ([]router.Route, error) {
		return loadRoutes(sctx, db, cfg.Domain)
	}), cfg.Domain))
	front, err := tlsSide.front(r, cfg.HTTPAddr)
	if err != nil {
		return err
	}
	var servers []*http.Server
	g, gctx := errgroup.WithContext(ctx)
	g.Go(front.Wait)
	tln, err := tlsSide.listen()
	if err != nil {
		stopFront(front)
		return err
	}
	if tln != nil {
		srv := tlsSide.server(r)
		servers = append(servers, srv)
		g.Go(func() error { return serveHTTPS(srv, tln) })
	}
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			stopFront(front)
			if tln != nil {
				tln.Close()
			}
			return fmt.Errorf("metrics listen: %w", err)
		}
		msrv := &http.Server{Handler: obs.withMetrics(http.NotFoundHandler()), ReadHeaderTimeout: 30 * time.Second}
		servers = append(servers, msrv)
		g.Go(func() error { return serveHTTP(msrv, mln) })
	}
	g.Go(func() error { watchStore(gctx, db, r, src, metrics, cfg.Resync, log); return nil })
	g.Go(func() error { obs.sink.run(gctx); return nil })
	g.Go(func() error {
		<-gctx.Done()
		return errors.Join(stopFront(front), shutdownServers(servers))
	})
	log.Info("wharfd router is ready", "http", front.Addr().String(), "https", cfg.HTTPS.Addr, "metrics", cfg.MetricsAddr, "domain", cfg.Domain)
	err = g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// watchStore keeps r's table current from Postgres notifications on
// store.RoutesChannel, with a full reload every resync.
func watchStore(ctx context.Context, db *store.DB, r *router.Router, src router.Source, m *routerMetrics, resync time.Duration, log *slog.Logger) {
	changes := make(chan struct{}, 1)
	go func() {
		err := db.Listen(ctx, store.RoutesChannel, func(string) {
			m.notifiedAt(time.Now())
			select {
			case changes <- struct{}{}:
			default:
			}
		})
		if err != nil && ctx.Err() == nil {
			log.Error("route notifications stopped", "err", err)
		}
	}()
	r.Watch(ctx, src, changes, resync)
}

// stopFront stops a router front end within shutdownGrace.
func stopFront(f *router.Front) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := f.Shutdown(ctx); err != nil {
		return fmt.Errorf("router shutdown: %w", err)
	}
	return nil
}

func shutdownServers(servers []*http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var errs []error
	for _, s := range servers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	return errors.Join(errs...)
}
