package router

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The fast path forwards the bulk of traffic — GET, HEAD and OPTIONS
// requests without a body, upgrade or Expect — over pooled keep-alive
// connections with a hand-written HTTP/1.1 exchange: the request head is
// written straight from the incoming request, the response head is parsed
// from the connection's buffer into the client's header map with one
// string allocation, and the body is copied from that buffer. Everything
// else (bodies, websockets and other upgrades, Expect: 100-continue) goes
// through httputil.ReverseProxy. The two paths share routing, balancing,
// forwarded headers, error pages and the access log.

// errBadResponse is a malformed or unsupported response head from a backend.
var errBadResponse = errors.New("malformed HTTP response from backend")

// longAgo is a deadline in the past, to interrupt blocking I/O.
var longAgo = time.Unix(1, 0)

// fastPathOK reports whether req can take the fast path.
func fastPathOK(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		return false
	}
	return req.ContentLength == 0 && len(req.Header["Upgrade"]) == 0 && len(req.Header["Expect"]) == 0
}

// respHead is what the fast path needs to know of a response head.
type respHead struct {
	status        int
	contentLength int64    // -1 when not given
	clSlot        []string // the Content-Length value, ready for the client's header map
	chunked       bool
	close         bool // the backend closes the connection after it
}

// fastForward proxies a bodyless request on the fast path.
func (r *Router) fastForward(ex *exchange, req *http.Request) {
	r.forwardedValues(req, ex)
	ctx := req.Context()
	// One watcher for the whole exchange: a client that goes away
	// interrupts whatever backend I/O is under way.
	stop := context.AfterFunc(ctx, func() {
		if bc := ex.fastConn.Load(); bc != nil {
			bc.interrupt()
		}
	})
	bc, head, err := r.fastRoundTrip(ctx, ex, req)
	if err != nil {
		stop()
		r.fastError(ex, ctx, err)
		return
	}
	reusable, backendErr := r.copyResponse(ex, req, bc, &head)
	if !stop() {
		reusable = false
	}
	if reusable {
		r.pool.put(ex.route.rr.addrs[ex.backend], bc)
	} else {
		bc.conn.Close()
	}
	if backendErr != nil && ctx.Err() == nil {
		if isTimeout(backendErr) {
			r.logTimeout(ex, "response body")
			ex.rw.status = http.StatusGatewayTimeout // for the access log
		}
		// The response is cut short; abort so the client can tell.
		panic(http.ErrAbortHandler)
	}
}

// fastRoundTrip sends the request head and reads the response head (into
// the client's header map), retrying once on the next backend when a dial
// fails and once on a fresh connection when a reused one turns out closed.
func (r *Router) fastRoundTrip(ctx context.Context, ex *exchange, req *http.Request) (*backendConn, respHead, error) {
	ex.backend = ex.route.rr.pick()
	fresh := false
	for dials := 0; ; {
		addr := ex.route.rr.addrs[ex.backend]
		var bc *backendConn
		if !fresh {
			bc = r.pool.get(addr)
		}
		if bc == nil {
			var err error
			if bc, err = r.pool.dial(ctx, addr); err != nil {
				ex.dialErr = true
				if next, ok := ex.route.rr.after(ex.backend); ok && dials == 0 && ctx.Err() == nil {
					dials++
					ex.backend = next
					continue
				}
				return nil, respHead{}, err
			}
		}
		ex.dialErr = false
		bc.rd.timeout = ex.route.timeout
		ex.fastConn.Store(bc)
		var head respHead
		nothingRead, err := false, ctx.Err() // canceled before the watcher could see bc
		if err == nil {
			head, nothingRead, err = r.exchangeHead(bc, req, ex)
		}
		if err == nil {
			return bc, head, nil
		}
		bc.conn.Close()
		if bc.reused && nothingRead && ctx.Err() == nil && !isTimeout(err) {
			fresh = true // the backend closed the idle connection: once more on a new one
			continue
		}
		return nil, respHead{}, err
	}
}

// exchangeHead writes the request head and reads the response head.
// nothingRead reports that the backend sent nothing at all.
func (r *Router) exchangeHead(bc *backendConn, req *http.Request, ex *exchange) (respHead, bool, error) {
	if err := writeRequestHead(bc, req, ex); err != nil {
		return respHead{}, true, err
	}
	h := ex.rw.Header()
	for {
		head, nothingRead, err := readResponseHead(bc, h)
		if err != nil {
			clear(h)
			return head, nothingRead, err
		}
		if head.status >= 200 {
			return head, false, nil
		}
		if head.status == http.StatusSwitchingProtocols {
			clear(h)
			return head, false, errBadResponse // not asked for
		}
		clear(h) // 1xx: informational, not passed on
	}
}

// writeRequestHead writes the request line and headers: the client's
// minus hop-by-hop and forwarding headers, plus ours.
func writeRequestHead(bc *backendConn, req *http.Request, ex *exchange) error {
	bw := bc.bw
	uri := req.RequestURI
	if uri == "" || uri[0] != '/' {
		uri = req.URL.RequestURI()
	}
	host := req.Host
	if host == "" {
		host = ex.route.rr.addrs[ex.backend]
	}
	bw.WriteString(req.Method)
	bw.WriteByte(' ')
	bw.WriteString(uri)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	listed := req.Header["Connection"]
	for k, vs := range req.Header {
		if skipRequestHeader(k) || (len(listed) > 0 && connectionListed(listed, k)) {
			continue
		}
		for _, v := range vs {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	for i, k := range forwardedHeaders {
		bw.WriteString(k)
		bw.WriteString(": ")
		bw.WriteString(ex.headers[i])
		bw.WriteString("\r\n")
	}
	bw.WriteString("\r\n")
	return bw.Flush()
}

// skipRequestHeader reports the hop-by-hop headers and those the router sets.
func skipRequestHeader(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "Host",
		"Forwarded", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port",
		"X-Request-Id", "X-Real-Ip":
		return true
	}
	return false
}

// connectionListed reports whether header k is named in a Connection header.
func connectionListed(conn []string, k string) bool {
	for _, v := range conn {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), k) {
				return true
			}
		}
	}
	return false
}

// fastError answers when no response head came from the backend.
func (r *Router) fastError(ex *exchange, ctx context.Context, err error) {
	app, backend := ex.route.app, ex.route.rr.addrs[max(ex.backend, 0)]
	switch {
	case ctx.Err() != nil:
		ex.rw.status = statusClientClosed
		r.log.Debug("router: client went away", "app", app, "backend", backend, "request_id", ex.requestID)
	case ex.dialErr:
		r.log.Warn("router: no backend reachable", "app", app, "backend", backend, "err", err, "request_id", ex.requestID)
		writePage(&ex.rw, http.StatusServiceUnavailable, unreachablePage(app))
	case isTimeout(err):
		r.logTimeout(ex, "response head")
		writePage(&ex.rw, http.StatusGatewayTimeout, timeoutPage(app, ex.route.timeout))
	default:
		r.log.Warn("router: backend error", "app", app, "backend", backend, "err", err, "request_id", ex.requestID)
		writePage(&ex.rw, http.StatusBadGateway, badGatewayPage(app))
	}
}

// copyResponse writes the status and body to the client. reusable says
// the connection is at the start of the next response; backendErr is how
// the backend failed mid-body (a client error is not one).
func (r *Router) copyResponse(ex *exchange, req *http.Request, bc *backendConn, head *respHead) (reusable bool, backendErr error) {
	w := &ex.rw
	h := w.Header()
	noBody := req.Method == http.MethodHead || head.status == http.StatusNoContent || head.status == http.StatusNotModified
	if head.contentLength >= 0 && !head.chunked {
		h["Content-Length"] = head.clSlot
	}
	w.WriteHeader(head.status)
	if noBody {
		return !head.close, nil
	}
	flush := head.contentLength < 0 || head.chunked || isEventStream(h)
	var clientErr bool
	var err error
	switch {
	case head.chunked:
		clientErr, err = r.copyChunked(w, bc, h)
	case head.contentLength >= 0:
		clientErr, err = copyBuffered(w, bc, head.contentLength, flush)
	default:
		clientErr, err = copyBuffered(w, bc, -1, true)
		head.close = true
		if errors.Is(err, io.EOF) {
			err = nil
		}
	}
	if clientErr {
		return false, nil
	}
	return err == nil && !head.close, err
}

// copyBuffered copies n bytes (all until EOF when n < 0) from the
// connection's read buffer to w, without another buffer. clientErr says
// err came from writing to the client.
func copyBuffered(w *responseRecorder, bc *backendConn, n int64, flush bool) (clientErr bool, err error) {
	br := bc.br
	for n != 0 {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				if n > 0 && errors.Is(err, io.EOF) {
					return false, io.ErrUnexpectedEOF
				}
				return false, err
			}
		}
		m := br.Buffered()
		if n > 0 && int64(m) > n {
			m = int(n)
		}
		p, _ := br.Peek(m)
		if _, err := w.Write(p); err != nil {
			return true, err
		}
		br.Discard(m)
		if n > 0 {
			n -= int64(m)
		}
		if flush {
			w.Flush()
		}
	}
	return false, nil
}

func isEventStream(h http.Header) bool {
	ct := h["Content-Type"]
	return len(ct) > 0 && strings.HasPrefix(ct[0], "text/event-stream")
}

// statusOf parses "HTTP/1.x NNN ...".
func statusOf(line string) (code int, http10 bool, ok bool) {
	if len(line) < 12 || !strings.HasPrefix(line, "HTTP/1.") || line[8] != ' ' {
		return 0, false, false
	}
	code, err := strconv.Atoi(line[9:12])
	if err != nil || code < 100 || code > 999 || (len(line) > 12 && line[12] != ' ') {
		return 0, false, false
	}
	return code, line[7] == '0', true
}
