package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// Front serves the router over plain HTTP/1.1 on event loops (gnet): one
// loop per core owns its client connections and its own pool of backend
// connections, so a proxied request costs four system calls and no
// goroutine switch. The loops take the bulk of traffic: bodyless GET, HEAD
// and OPTIONS requests with an unambiguous head, and the 404 and 503 pages.
// Everything else — request bodies, websockets and other upgrades, HTTP/1.0,
// redirects to HTTPS, unusual heads — is handed, with the bytes already
// read, to Go's net/http server running the Router's ServeHTTP, which keeps
// the connection from then on. A response larger than the loops buffer for
// a slow client continues from a goroutine that waits for the client to
// drain (see frontpace.go), so a big download never piles up in memory.
type Front struct {
	r        *Router
	o        FrontOptions
	log      *slog.Logger
	eng      gnet.Engine
	addr     net.Addr
	fallback *http.Server
	handoffs *connQueue
	dialer   net.Dialer

	mu    sync.Mutex
	loops map[gnet.EventLoop]*frontLoop

	sweepFor   *table // the table sweepEvery was computed for; OnTick's alone
	sweepEvery time.Duration

	booted chan struct{}
	done   chan struct{}
	err    error // from gnet.Run, once done is closed
}

// FrontOptions configure a Front. The zero value is usable.
type FrontOptions struct {
	// Handler serves the requests handed off to net/http; default the
	// Router itself. A wrapper (ACME HTTP-01 challenges, say) goes here.
	Handler http.Handler
	// HandOffPaths are path prefixes always served by Handler, e.g.
	// "/.well-known/acme-challenge/".
	HandOffPaths []string
	// ReadHeaderTimeout bounds the arrival of a request head; default 30 s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long; default 90 s.
	IdleTimeout time.Duration
	// Loops is the number of event loops; default one per CPU.
	Loops int
}

// Bounds of the event loops.
const (
	frontSweep     = time.Second // how often timeouts are checked
	backendIdle    = 90 * time.Second
	maxPipelined   = 1 << 20   // bytes a client may send ahead while a request is served
	paceAbove      = 256 << 10 // a client with more unsent bytes than this gets a paced response
	maxIdlePerLoop = 256       // idle connections kept per backend and loop
)

// ListenFront starts serving r over plain HTTP on addr ("host:port";
// port 0 picks one, see Addr) and returns once it listens.
func (r *Router) ListenFront(addr string, o FrontOptions) (*Front, error) {
	if o.Handler == nil {
		o.Handler = r
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 30 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 90 * time.Second
	}
	f := &Front{r: r, o: o, log: r.log, loops: map[gnet.EventLoop]*frontLoop{},
		booted: make(chan struct{}), done: make(chan struct{}),
		dialer: net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}}
	f.handoffs = newConnQueue()
	f.fallback = &http.Server{Handler: o.Handler, ReadHeaderTimeout: o.ReadHeaderTimeout, IdleTimeout: o.IdleTimeout,
		ErrorLog: slog.NewLogLogger(r.log.Handler(), slog.LevelDebug)}
	opts := []gnet.Option{gnet.WithMulticore(true), gnet.WithTicker(true), gnet.WithLogger(gnetLogger{r.log}),
		gnet.WithTCPKeepAlive(time.Minute), gnet.WithReuseAddr(true)}
	if o.Loops > 0 {
		opts = append(opts, gnet.WithNumEventLoop(o.Loops))
	}
	go func() {
		f.err = gnet.Run(frontHandler{f}, "tcp://"+addr, opts...)
		close(f.done)
	}()
	select {
	case <-f.booted:
	case <-f.done:
		return nil, fmt.Errorf("router: listening on %s: %w", addr, f.err)
	}
	f.handoffs.addr = f.addr
	go func() { _ = f.fallback.Serve(f.handoffs) }()
	return f, nil
}

// Addr is the address the front listens on.
func (f *Front) Addr() net.Addr { return f.addr }

// Wait blocks until the front has stopped and returns why, nil after Shutdown.
func (f *Front) Wait() error {
	<-f.done
	return f.err
}

// Shutdown stops accepting, closes the event loops' connections and lets
// the handed-off ones finish their requests until ctx ends.
func (f *Front) Shutdown(ctx context.Context) error {
	err := f.eng.Stop(ctx)
	f.handoffs.Close()
	return errors.Join(err, f.fallback.Shutdown(ctx))
}

// loopOf returns the state of event loop el, made on first use.
func (f *Front) loopOf(el gnet.EventLoop) *frontLoop {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.loops[el]
	if l == nil {
		l = &frontLoop{f: f, el: el, clients: map[*frontConn]struct{}{}, idle: map[string][]*loopBackend{}}
		f.loops[el] = l
	}
	return l
}

// handOffPath reports whether target must go to the net/http handler.
func (f *Front) handOffPath(target []byte) bool {
	for _, p := range f.o.HandOffPaths {
		if len(target) >= len(p) && string(target[:len(p)]) == p {
			return true
		}
	}
	return false
}

// frontHandler receives gnet's events.
type frontHandler struct{ f *Front }

func (h frontHandler) OnBoot(eng gnet.Engine) gnet.Action {
	h.f.eng = eng
	if fd, err := eng.Dup(); err == nil {
		if sa, err := unix.Getsockname(fd); err == nil {
			h.f.addr = sockaddrToTCP(sa)
		}
		unix.Close(fd)
	}
	close(h.f.booted)
	return gnet.None
}

func (frontHandler) OnShutdown(gnet.Engine) {}

func (h frontHandler) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	if b, ok := c.Context().(*loopBackend); ok {
		b.loop.backendOpened(b, c)
		return nil, gnet.None
	}
	l := h.f.loopOf(c.EventLoop())
	fc := &frontConn{c: c, loop: l, since: time.Now()}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		fc.clientIP = []byte(a.IP.String())
		fc.trusted = h.f.r.trusts(a.String())
	}
	c.SetContext(fc)
	l.clients[fc] = struct{}{}
	return nil, gnet.None
}

func (frontHandler) OnClose(c gnet.Conn, _ error) gnet.Action {
	switch v := c.Context().(type) {
	case *frontConn:
		v.loop.clientClosed(v)
	case *loopBackend:
		v.loop.backendClosed(v)
	}
	return gnet.None
}

func (frontHandler) OnTraffic(c gnet.Conn) gnet.Action {
	switch v := c.Context().(type) {
	case *frontConn:
		return v.loop.clientTraffic(v, true)
	case *loopBackend:
		return v.loop.backendTraffic(v)
	}
	return gnet.Close
}

// OnTick runs every frontSweep, off the loops: each loop checks its
// timeouts on its own goroutine.
func (h frontHandler) OnTick() (time.Duration, gnet.Action) {
	h.f.mu.Lock()
	loops := make([]*frontLoop, 0, len(h.f.loops))
	for _, l := range h.f.loops {
		loops = append(loops, l)
	}
	h.f.mu.Unlock()
	for _, l := range loops {
		_ = l.execute(func() { l.sweep(time.Now()) })
	}
	return h.f.sweepInterval(), gnet.None
}

// sweepInterval is frontSweep, or a quarter of the shortest route timeout
// when that is shorter, so timeouts fire within a quarter of their length.
func (f *Front) sweepInterval() time.Duration {
	t := f.r.table.Load()
	if t != f.sweepFor {
		f.sweepFor, f.sweepEvery = t, frontSweep
		for _, m := range []map[string]*route{t.exact, t.wild} {
			for _, rt := range m {
				f.sweepEvery = min(f.sweepEvery, max(rt.timeout/4, 10*time.Millisecond))
			}
		}
	}
	return f.sweepEvery
}

func sockaddrToTCP(sa unix.Sockaddr) *net.TCPAddr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: a.Port}
	}
	return nil
}

// gnetLogger sends gnet's own log lines to slog, at debug level but for
// errors.
type gnetLogger struct{ log *slog.Logger }

func (g gnetLogger) Debugf(format string, args ...any) {
	g.log.Debug("gnet: " + fmt.Sprintf(format, args...))
}
func (g gnetLogger) Infof(format string, args ...any) {
	g.log.Debug("gnet: " + fmt.Sprintf(format, args...))
}
func (g gnetLogger) Warnf(format string, args ...any) {
	g.log.Warn("gnet: " + fmt.Sprintf(format, args...))
}
func (g gnetLogger) Errorf(format string, args ...any) {
	g.log.Error("gnet: " + fmt.Sprintf(format, args...))
}
func (g gnetLogger) Fatalf(format string, args ...any) {
	g.log.Error("gnet: " + fmt.Sprintf(format, args...))
}
