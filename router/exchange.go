package router

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// exchange is the per-request state of one proxied request. It is one
// allocation: the context handed to ReverseProxy, the ResponseWriter
// wrapper, the request body wrapper and the backing array for the
// forwarded header values are all fields of it.
type exchange struct {
	ctx       exchangeCtx
	rw        responseRecorder
	body      requestBody
	wd        *watchdog // the ReverseProxy path's timeout (timeout.go); nil on the fast path
	start     time.Time
	requestID string
	route     *route
	backend   int                         // index into route.rr.addrs; -1 until picked
	dialErr   bool                        // the last round trip failed to connect
	fastConn  atomic.Pointer[backendConn] // the fast path's current backend connection
	headers   [6]string
}

type exchangeKey struct{}

// exchangeCtx carries the exchange from ServeHTTP to the Rewrite hook, the
// transport and the error handler, all of which only see a *http.Request.
type exchangeCtx struct {
	context.Context
	ex *exchange
}

func (c *exchangeCtx) Value(key any) any {
	if _, ok := key.(exchangeKey); ok {
		return c.ex
	}
	return c.Context.Value(key)
}

func exchangeOf(req *http.Request) *exchange {
	if c, ok := req.Context().(*exchangeCtx); ok {
		return c.ex
	}
	ex, _ := req.Context().Value(exchangeKey{}).(*exchange)
	return ex
}

// responseRecorder remembers the status and body size for the access log.
// Flush and Hijack are its own so streaming and websockets work without
// http.ResponseController walking Unwrap on every write.
type responseRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *responseRecorder) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseRecorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *responseRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
		return
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *responseRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.status = http.StatusSwitchingProtocols
	}
	return conn, brw, err
}

func (w *responseRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *responseRecorder) statusOr200() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// requestBody enforces the route's body cap and counts what was read, so a
// request is retried only while none of its body has been sent; the
// watchdog is paused while it waits for the client. Close is a no-op:
// the transport closes bodies when a dial fails, and the body must survive
// for the retry; net/http closes the real body when the handler returns.
type requestBody struct {
	rc       io.ReadCloser
	limit    int64
	wd       *watchdog
	n        atomic.Int64 // read by the transport's goroutine, checked by the handler
	tooLarge atomic.Bool
	// eof: the client's body has ended. The transport reads once more
	// after a declared length's worth; that read must not reach the real
	// body, which net/http may close as soon as the handler returns,
	// failing the write and so the backend connection. Only the
	// transport's goroutine reads it.
	eof bool
}

func (b *requestBody) Read(p []byte) (int, error) {
	n := b.n.Load()
	if b.tooLarge.Load() {
		return 0, &http.MaxBytesError{Limit: b.limit}
	}
	if b.eof {
		return 0, io.EOF
	}
	if left := b.limit - n + 1; int64(len(p)) > left {
		p = p[:left] // read one byte past the limit to see whether there is more
	}
	paused := b.wd != nil && b.wd.pauseForClient()
	m, err := b.rc.Read(p)
	if paused {
		b.wd.resumeAfterClient()
	}
	if n+int64(m) > b.limit {
		m = int(b.limit - n)
		b.tooLarge.Store(true)
		err = &http.MaxBytesError{Limit: b.limit}
	}
	b.n.Store(n + int64(m))
	b.eof = err == io.EOF
	return m, err
}

func (b *requestBody) Close() error { return nil }
