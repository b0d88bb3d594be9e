package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/wharfhq/wharf/router"
	"github.com/wharfhq/wharf/store"
)

// httpsConfig is what `wharfd serve` and `wharfd router` are told about
// HTTPS: the listener and the ACME CA for automatic certificates.
type httpsConfig struct {
	Addr string // "" for no HTTPS listener
	ACME acmeConfig
}

// stringFlag registers a string flag; serve's variant also reads a
// WHARF_ environment variable as the default.
type stringFlag func(p *string, name, def, help string)

// register adds --https-addr and the --acme-* flags through str.
func (c *httpsConfig) register(str stringFlag) {
	str(&c.Addr, "https-addr", ":8443", "router HTTPS listen address (certificates from wharf certs:add or ACME; HTTP/2); empty: none")
	str(&c.ACME.CA, "acme-ca", "", "ACME directory URL for automatic certificates of custom domains, e.g. https://acme-v02.api.letsencrypt.org/directory; empty: none")
	str(&c.ACME.Email, "acme-email", "", "contact email for the ACME account")
	str(&c.ACME.CARoot, "acme-ca-root", "", "PEM file of an extra root to trust for the ACME CA's own HTTPS (a private CA, Pebble)")
}

func (c httpsConfig) validate() error {
	if c.ACME.CA != "" && c.Addr == "" {
		return fmt.Errorf("--acme-ca needs an HTTPS listener (--https-addr) to serve its certificates on")
	}
	return nil
}

// port is the HTTPS listener's port, where HTTP → HTTPS redirects point;
// "" without a listener (redirects then go to 443).
func (c httpsConfig) port() string {
	_, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return ""
	}
	return port
}

// routerTLS is the HTTPS side of a router, the same for `wharfd serve` and
// `wharfd router`: ACME when configured, and the HTTPS listener.
type routerTLS struct {
	cfg  httpsConfig
	acme *acmeManager // nil without an ACME CA
	log  *slog.Logger
}

// newRouterTLS prepares ACME when configured and sets what the router's
// opts need of HTTPS: the redirect port and ACME's certificates.
func newRouterTLS(cfg httpsConfig, db *store.DB, opts *router.Options, log *slog.Logger) (*routerTLS, error) {
	t := &routerTLS{cfg: cfg, log: log}
	opts.HTTPSPort = cfg.port()
	if cfg.ACME.CA == "" {
		return t, nil
	}
	acme, err := newACMEManager(cfg.ACME, db, log)
	if err != nil {
		return nil, err
	}
	t.acme = acme
	opts.GetCertificate = acme.getCertificate
	return t, nil
}

// httpHandler is the plain-HTTP listener's handler: ACME HTTP-01
// challenges are answered before the router sees the request.
func (t *routerTLS) httpHandler(r http.Handler) http.Handler {
	if t.acme == nil {
		return r
	}
	return t.acme.httpChallenges(r)
}

// front starts r's plain-HTTP listener on addr: the router's event-loop
// front end, which hands what it does not serve itself (and, with ACME,
// HTTP-01 challenges) to httpHandler.
func (t *routerTLS) front(r *router.Router, addr string) (*router.Front, error) {
	o := router.FrontOptions{Handler: t.httpHandler(r)}
	if t.acme != nil {
		o.HandOffPaths = []string{acmeChallengePrefix}
	}
	f, err := r.ListenFront(addr, o)
	if err != nil {
		return nil, fmt.Errorf("router listen: %w", err)
	}
	return f, nil
}

// acmeChallengePrefix is where ACME HTTP-01 challenges are asked.
const acmeChallengePrefix = "/.well-known/acme-challenge/"

// source hands the custom domains of every table src loads to ACME, which
// keeps managing them until ctx ends.
func (t *routerTLS) source(ctx context.Context, src router.Source, domain string) router.Source {
	if t.acme == nil {
		return src
	}
	return router.SourceFunc(func(sctx context.Context) ([]router.Route, error) {
		routes, err := src.Routes(sctx)
		if err == nil {
			t.acme.manage(ctx, routes, domain)
		}
		return routes, err
	})
}

// listen opens the HTTPS listener; nil, nil when there is none.
func (t *routerTLS) listen() (net.Listener, error) {
	if t.cfg.Addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", t.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("router HTTPS listen: %w", err)
	}
	return ln, nil
}

// server is the HTTPS server for r: certificates by SNI, HTTP/2.
func (t *routerTLS) server(r *router.Router) *http.Server {
	return &http.Server{Handler: r, TLSConfig: r.TLSConfig(), ReadHeaderTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(t.log.Handler(), slog.LevelDebug)} // failed handshakes are routine
}

func serveHTTPS(srv *http.Server, ln net.Listener) error {
	if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
