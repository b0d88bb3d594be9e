// Package router owns Wharf's HTTP front door: a reverse proxy that sends a
// request for Host "<app>.<domain>" (or any custom host of an app) to one of
// that app's running web containers. The routing table lives behind an
// atomic pointer, so lookups never lock and Update swaps a whole new table
// in; round-robin balancing, a single retry on dial errors, X-Forwarded-*
// and X-Request-Id handling and the plain error pages are all here. The
// daemon feeds it through Update, Sync or Watch.
package router

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"sync/atomic"
	"time"
)

// Route is one app's entry in the routing table.
type Route struct {
	App string
	// Hosts the app answers to, e.g. "hello.localhost" or "www.example.com".
	// "*.example.com" matches exactly one label under example.com; an exact
	// host beats a wildcard.
	Hosts []string
	// Backends are the host:port addresses of the app's web containers,
	// e.g. "127.0.0.1:49153". Empty means nothing is running: 503.
	Backends []string
	// Certificates are served over HTTPS for their names among Hosts.
	Certificates []Certificate
	// RedirectHTTPS answers plain-HTTP requests with a 308 to HTTPS.
	RedirectHTTPS bool
	// MaxBodyBytes caps the app's request bodies (413 above it); 0 means
	// Options.MaxBodyBytes.
	MaxBodyBytes int64
	// Timeout bounds each wait for one of the app's backends: for the
	// response head, then between two reads of the response body (so a
	// stream that sends something at least that often lives on). A backend
	// that exceeds it gets its request answered with 504, or its response
	// cut short. 0 means Options.Timeout.
	Timeout time.Duration
}

// Source gives the full, current set of routes.
type Source interface {
	Routes(ctx context.Context) ([]Route, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context) ([]Route, error)

// Routes calls f.
func (f SourceFunc) Routes(ctx context.Context) ([]Route, error) { return f(ctx) }

// AccessEntry describes one finished request, for Options.AccessLog.
type AccessEntry struct {
	App       string // "" when no app is served at Host
	Host      string // the Host header as the client sent it
	Method    string
	Path      string // without the query, which may hold secrets
	Status    int    // 101 for upgraded connections; 499 when the client went away first; 504 also for a response cut short by the route's timeout
	Duration  time.Duration
	Bytes     int64  // response body bytes written to the client
	RequestID string // the X-Request-Id sent to the app
	Backend   string // the backend that answered (or failed last); "" when none was tried
}

// Options configure a Router. The zero value is usable.
type Options struct {
	Logger *slog.Logger // default slog.Default()
	// AccessLog, when set, is called after every request on the request's
	// goroutine, so it should be quick.
	AccessLog func(AccessEntry)
	// TrustedProxies are the peers whose X-Forwarded-* and X-Real-Ip
	// headers are passed on. Default: none, not even loopback.
	TrustedProxies []netip.Prefix
	// MaxBodyBytes caps request bodies of routes without their own
	// Route.MaxBodyBytes; larger ones get 413. Default 100 MiB.
	MaxBodyBytes int64
	// Timeout is the Route.Timeout of routes without their own. Default 60 s.
	Timeout time.Duration
	// GetCertificate, when set, is asked for TLS names without a
	// certificate in the table, and for ACME TLS-ALPN challenges.
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// HTTPSPort is the port HTTPS redirects point to; default 443.
	HTTPSPort string
}

// The defaults of Options.MaxBodyBytes and Options.Timeout.
const (
	DefaultMaxBodyBytes = 100 << 20
	DefaultTimeout      = 60 * time.Second
)

// Router is an http.Handler that proxies each request to its app's
// backends. It is safe for concurrent use.
type Router struct {
	log       *slog.Logger
	accessLog func(AccessEntry)
	trusted   []netip.Prefix
	defaults  limits // for routes without their own
	getCert   func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	httpsPort string

	table     atomic.Pointer[table]
	transport *http.Transport
	proxy     httputil.ReverseProxy
	pool      *connPool   // the fast path's backend connections
	bufPool   *bufferPool // copy buffers, shared by both paths
	certs     certCache
}

// New returns a Router with an empty table: every host is a 404 until
// Update, Sync or Watch fill it.
func New(o Options) *Router {
	r := &Router{
		log:       o.Logger,
		accessLog: o.AccessLog,
		trusted:   append([]netip.Prefix(nil), o.TrustedProxies...),
		defaults:  limits{maxBody: o.MaxBodyBytes, timeout: o.Timeout},
		getCert:   o.GetCertificate,
		httpsPort: o.HTTPSPort,
		transport: newTransport(),
		pool:      newConnPool(),
		bufPool:   newBufferPool(),
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.defaults.maxBody <= 0 {
		r.defaults.maxBody = DefaultMaxBodyBytes
	}
	if r.defaults.timeout <= 0 {
		r.defaults.timeout = DefaultTimeout
	}
	r.table.Store(r.defaults.buildTable(nil, r.log))
	r.proxy = httputil.ReverseProxy{
		Rewrite:        r.rewrite,
		ModifyResponse: r.modifyResponse,
		Transport:      retryTransport{base: r.transport, log: r.log},
		BufferPool:     r.bufPool,
		ErrorHandler:   r.proxyError,
		ErrorLog:       slog.NewLogLogger(r.log.Handler(), slog.LevelWarn),
		// FlushInterval stays 0 on purpose: ReverseProxy already flushes
		// every write of text/event-stream responses and of responses
		// without a Content-Length (both are -1 internally). A global -1
		// would add a timer, a goroutine and three allocations to every
		// ordinary response too.
		FlushInterval: 0,
	}
	return r
}

// ServeHTTP routes req by its Host header.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ex := &exchange{start: time.Now(), backend: -1}
	ex.rw.ResponseWriter = w
	ex.requestID = requestID(req.Header["X-Request-Id"])
	if r.accessLog != nil {
		defer r.logAccess(ex, req)
	}
	rt := r.table.Load().lookup(req.Host)
	ex.route = rt
	switch {
	case rt == nil:
		writePage(&ex.rw, http.StatusNotFound, notFoundPage(req.Host))
	case rt.redirectHTTPS && req.TLS == nil:
		r.redirectToHTTPS(&ex.rw, req)
	case len(rt.rr.addrs) == 0:
		writePage(&ex.rw, http.StatusServiceUnavailable, rt.noBackendsPage)
	case req.ContentLength > rt.maxBody:
		writeTooLarge(&ex.rw, rt.maxBody)
	default:
		r.forward(ex, req)
	}
}

// Update builds a table from routes and swaps it in atomically; requests
// in flight finish on the table they started with.
func (r *Router) Update(routes []Route) {
	t := r.defaults.buildTable(routes, r.log)
	r.addCerts(t, routes)
	r.table.Store(t)
	r.pool.retain(t.addrs())
	r.log.Debug("router table updated", "routes", t.routes, "hosts", len(t.exact)+len(t.wild))
}

// Sync loads the routes from src and swaps them in. On error the old
// table keeps serving.
func (r *Router) Sync(ctx context.Context, src Source) error {
	routes, err := src.Routes(ctx)
	if err != nil {
		return fmt.Errorf("router: loading routes: %w", err)
	}
	r.Update(routes)
	return nil
}

// Defaults returns the body cap and timeout of routes without their own.
func (r *Router) Defaults() (maxBodyBytes int64, timeout time.Duration) {
	return r.defaults.maxBody, r.defaults.timeout
}

// Len returns the number of routes (apps with at least one valid host) in
// the current table.
func (r *Router) Len() int { return r.table.Load().routes }

// Stats describe the current table, for metrics.
type Stats struct {
	Routes   int // apps with at least one host
	Hosts    int // exact and wildcard hosts
	Backends int // backend addresses over all routes
}

// Stats returns the current table's Stats.
func (r *Router) Stats() Stats {
	t := r.table.Load()
	return Stats{Routes: t.routes, Hosts: len(t.exact) + len(t.wild), Backends: t.backends}
}

// CloseIdleConnections closes the idle keep-alive connections to backends.
// Call it when the router is retired so no transport goroutine outlives it.
func (r *Router) CloseIdleConnections() {
	r.transport.CloseIdleConnections()
	r.pool.closeIdle()
}

func (r *Router) logAccess(ex *exchange, req *http.Request) {
	e := AccessEntry{
		Host:      req.Host,
		Method:    req.Method,
		Path:      req.URL.Path,
		Status:    ex.rw.statusOr200(),
		Duration:  time.Since(ex.start),
		Bytes:     ex.rw.bytes,
		RequestID: ex.requestID,
	}
	if ex.route != nil {
		e.App = ex.route.app
		if ex.backend >= 0 {
			e.Backend = ex.route.rr.addrs[ex.backend]
		}
	}
	r.accessLog(e)
}
