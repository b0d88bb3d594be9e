package router

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// frontLoop is the state of one event loop. Only that loop's goroutine
// touches it, so nothing here is locked.
type frontLoop struct {
	f       *Front
	el      gnet.EventLoop
	clients map[*frontConn]struct{}
	idle    map[string][]*loopBackend // keep-alive backend connections by address
	free    []*loopExchange
	scratch []byte    // the response head being written
	iov     [4][]byte // writeParts' vector, kept here so it does not escape per call
}

// Client connection states.
const (
	connOpen    = iota
	connClosing // waiting to close, or to be handed off, once its output drained
	connGone
)

// frontConn is a client connection on a loop.
type frontConn struct {
	c         gnet.Conn
	loop      *frontLoop
	clientIP  []byte
	trusted   bool
	ex        *loopExchange // the request being served, nil between requests
	state     int
	since     time.Time // idle since
	headStart time.Time // when a partial head arrived; zero when none is pending
}

// loopBackend is a connection to a backend on a loop: dialing, serving
// an exchange, or idle in the pool.
type loopBackend struct {
	c       gnet.Conn // nil while dialing
	addr    string
	loop    *frontLoop
	ex      *loopExchange
	idleAt  time.Time
	reused  bool
	dialing bool
}

// Phases of an exchange.
const (
	phaseHead = iota // waiting for the response head
	phaseBody
)

// loopExchange is one proxied request on a loop. Exchanges are reused.
type loopExchange struct {
	client      *frontConn
	backend     *loopBackend
	route       *route
	idx         int // backend index in route.rr.addrs
	rq          reqHead
	req         []byte // the request head for the backend
	idBuf       [maxRequestIDLen]byte
	id          []byte
	headReq     bool
	closeClient bool
	start, last time.Time // last: the last backend activity
	dials       int       // dial retries on another backend
	retried     bool      // resent on a fresh connection after a stale one
	gotAny      bool      // the backend sent something
	phase       int
	ri          respInfo
	remaining   int64
	chunks      chunkScanner
	sizeBuf     [18]byte
	sentHead    bool
	status      int
	bytes       int64
	pacer       *pacer // set while a goroutine streams the body
	// For the access log.
	method, host, path string
}

func (l *frontLoop) newExchange(fc *frontConn) *loopExchange {
	var ex *loopExchange
	if n := len(l.free); n > 0 {
		ex, l.free = l.free[n-1], l.free[:n-1]
	} else {
		ex = &loopExchange{}
	}
	ex.client = fc
	return ex
}

func (l *frontLoop) release(ex *loopExchange) {
	req := ex.req[:0]
	*ex = loopExchange{}
	ex.req = req
	if len(l.free) < 1024 {
		l.free = append(l.free, ex)
	}
}

// execute runs fn on the loop.
func (l *frontLoop) execute(fn func()) error {
	return l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error { fn(); return nil }))
}

// clientTraffic serves the requests buffered on fc, one at a time. own
// says gnet called it for fc, so that closing fc is an action to return.
func (l *frontLoop) clientTraffic(fc *frontConn, own bool) gnet.Action {
	for {
		if fc.ex != nil || fc.state != connOpen {
			if fc.c.InboundBuffered() > maxPipelined {
				return l.closeNow(fc, own)
			}
			return gnet.None
		}
		buf, _ := fc.c.Peek(-1)
		if len(buf) == 0 {
			return gnet.None
		}
		end := bytes.Index(buf, crlfcrlf)
		if end < 0 {
			if len(buf) >= maxFastHead {
				return l.handOff(fc, own)
			}
			if fc.headStart.IsZero() {
				fc.headStart = time.Now()
			}
			return gnet.None
		}
		if !l.serve(fc, buf[:end+4]) {
			return l.handOff(fc, own)
		}
	}
}

// serve starts serving the request whose head is raw, or reports false
// when it must go to net/http.
func (l *frontLoop) serve(fc *frontConn, raw []byte) bool {
	ex := l.newExchange(fc)
	rq := &ex.rq
	if !parseRequestHead(raw, rq) || l.f.handOffPath(rq.target) {
		l.release(ex)
		return false
	}
	rt := l.f.r.table.Load().lookupBytes(rq.host)
	if rt != nil && rt.redirectHTTPS {
		l.release(ex)
		return false
	}
	fc.headStart = time.Time{}
	ex.start, ex.headReq, ex.closeClient = time.Now(), rq.head, rq.close
	ex.id = fillRequestID(&ex.idBuf, rq)
	if l.f.r.accessLog != nil {
		ex.noteForLog()
	}
	ex.route = rt
	switch {
	case rt == nil:
		page := notFoundPage(string(rq.host))
		fc.c.Discard(len(raw))
		fc.ex = ex
		l.respond(ex, http.StatusNotFound, page)
	case len(rt.rr.addrs) == 0:
		fc.c.Discard(len(raw))
		fc.ex = ex
		l.respond(ex, http.StatusServiceUnavailable, rt.noBackendsPage)
	default:
		ex.idx = rt.rr.pick()
		ex.req = appendBackendRequest(ex.req[:0], rq, fc, ex.id)
		fc.c.Discard(len(raw))
		fc.ex = ex
		l.send(ex, false)
	}
	return true
}

// noteForLog copies what the access log needs out of the raw head, in one
// allocation.
func (ex *loopExchange) noteForLog() {
	rq := &ex.rq
	switch string(rq.method) {
	case "GET":
		ex.method = http.MethodGet
	case "HEAD":
		ex.method = http.MethodHead
	default:
		ex.method = http.MethodOptions
	}
	path := rq.path()
	s := string(append(append(make([]byte, 0, len(rq.host)+len(path)), rq.host...), path...))
	ex.host, ex.path = s[:len(rq.host)], s[len(rq.host):]
}

// send sends ex's request on an idle connection to its backend, or dials
// one; fresh skips the idle ones.
func (l *frontLoop) send(ex *loopExchange, fresh bool) {
	addr := ex.route.rr.addrs[ex.idx]
	if !fresh {
		if b := l.takeIdle(addr); b != nil {
			b.ex, ex.backend = ex, b
			ex.last = time.Now()
			b.c.Write(ex.req) // a failed write closes b: backendClosed retries
			return
		}
	}
	b := &loopBackend{addr: addr, loop: l, ex: ex, dialing: true}
	ex.backend, ex.last = b, time.Now()
	go l.dial(b)
}

// dial connects b off the loop and enrolls the connection in it.
func (l *frontLoop) dial(b *loopBackend) {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	conn, err := l.f.dialer.DialContext(ctx, "tcp", b.addr)
	if err == nil {
		var ch <-chan gnet.RegisteredResult
		if ch, err = l.el.Enroll(gnet.NewContext(context.Background(), b), conn); err == nil {
			err = (<-ch).Err
		} else {
			conn.Close()
		}
	}
	if err != nil {
		_ = l.execute(func() {
			if fc := l.dialFailed(b, err); fc != nil {
				l.resume(fc)
			}
		})
	}
}

// backendOpened sends the waiting request on a new connection.
func (l *frontLoop) backendOpened(b *loopBackend, c gnet.Conn) {
	b.c, b.dialing = c, false
	ex := b.ex
	if ex == nil { // its request went elsewhere or its client left
		l.putIdle(b)
		return
	}
	ex.last = time.Now()
	c.Write(ex.req)
}

// dialFailed retries ex once on the next backend, else answers 503. It
// returns the client when the exchange ended.
func (l *frontLoop) dialFailed(b *loopBackend, err error) *frontConn {
	ex := b.ex
	if ex == nil {
		return nil
	}
	b.ex, ex.backend = nil, nil
	app := ex.route.app
	if next, ok := ex.route.rr.after(ex.idx); ok && ex.dials == 0 {
		l.f.log.Warn("router: backend unreachable, trying another", "app", app, "backend", b.addr, "err", err, "request_id", string(ex.id))
		ex.dials++
		ex.idx = next
		l.send(ex, false)
		return nil
	}
	l.f.log.Warn("router: no backend reachable", "app", app, "backend", b.addr, "err", err, "request_id", string(ex.id))
	fc := ex.client
	l.respond(ex, http.StatusServiceUnavailable, unreachablePage(app))
	return fc
}

// backendTraffic relays what a backend sent.
func (l *frontLoop) backendTraffic(b *loopBackend) gnet.Action {
	ex := b.ex
	if ex == nil {
		return gnet.Close // an idle connection has nothing to say
	}
	buf, _ := b.c.Peek(-1)
	ex.last, ex.gotAny = time.Now(), true
	fc := ex.client
	action := l.relay(ex, b, buf)
	l.resume(fc)
	return action
}

// relay turns the backend's bytes into the client's response.
func (l *frontLoop) relay(ex *loopExchange, b *loopBackend, buf []byte) gnet.Action {
	used := 0
	var head []byte
	if ex.phase == phaseHead {
		for {
			end := headEnd(buf[used:])
			if end > maxResponseHead || (end == 0 && len(buf)-used > maxResponseHead) {
				return l.backendFailed(ex, b, errHeadTooLarge)
			}
			if end == 0 {
				b.c.Discard(used)
				return gnet.None
			}
			raw := buf[used : used+end]
			used += len(raw)
			var err error
			var ri respInfo
			if head, ri, err = appendClientHead(l.scratch[:0], raw, ex.headReq, ex.closeClient); err != nil || ri.status == http.StatusSwitchingProtocols {
				return l.backendFailed(ex, b, errBadResponse)
			}
			l.scratch = head[:0]
			if ri.status >= 200 {
				ex.ri, ex.status, ex.remaining, ex.phase = ri, ri.status, ri.length, phaseBody
				break
			} // 1xx: informational, not passed on
		}
	}
	pre, data, post, n, done, err := ex.bodyPiece(buf[used:])
	used += n
	if err != nil && head != nil {
		return l.backendFailed(ex, b, err)
	}
	fc := ex.client
	ex.sentHead = true
	ex.bytes += int64(len(data))
	l.writeParts(fc.c, head, pre, data, post)
	b.c.Discard(used)
	switch {
	case fc.ex != ex: // the write failed and the client is gone
		return gnet.Close
	case err != nil:
		l.f.log.Warn("router: backend error", "app", ex.route.app, "backend", b.addr, "err", err, "request_id", string(ex.id))
		l.abort(ex)
		return gnet.Close
	case done:
		reusable := !ex.ri.close && used == len(buf)
		l.finish(ex, reusable)
		if !reusable {
			return gnet.Close
		}
		return gnet.None
	case fc.c.OutboundBuffered() > paceAbove:
		return l.pace(ex, b)
	}
	return gnet.None
}

// bodyPiece frames p, the next bytes from the backend: it returns what to
// send the client (pre, data and post, any of them empty), how many bytes
// of p belong to the body, and whether the body is complete.
func (ex *loopExchange) bodyPiece(p []byte) (pre, data, post []byte, n int, done bool, err error) {
	switch ex.ri.frame {
	case frameLength:
		k := int64(len(p))
		if k > ex.remaining {
			k = ex.remaining
		}
		ex.remaining -= k
		return nil, p[:k], nil, int(k), ex.remaining == 0, nil
	case frameChunked:
		n, done, err = ex.chunks.scan(p)
		return nil, p[:n], nil, n, done, err
	case frameUntilClose:
		if len(p) == 0 {
			return nil, nil, nil, 0, false, nil
		}
		return chunkHeader(&ex.sizeBuf, len(p)), p, crlf, len(p), false, nil
	}
	return nil, nil, nil, 0, true, nil
}

var (
	crlf       = []byte("\r\n")
	lastChunk  = []byte("0\r\n\r\n")
	errTimeout = errors.New("timed out")
)

// writeParts writes the non-empty parts to c with one system call.
func (l *frontLoop) writeParts(c gnet.Conn, a, b, d, e []byte) {
	n := 0
	for _, p := range [4][]byte{a, b, d, e} {
		if len(p) > 0 {
			l.iov[n] = p
			n++
		}
	}
	switch n {
	case 0:
	case 1:
		c.Write(l.iov[0])
	default:
		c.Writev(l.iov[:n])
	}
	l.iov = [4][]byte{}
}

// backendFailed answers 502 when nothing of the response was sent yet, or
// cuts the response short otherwise.
func (l *frontLoop) backendFailed(ex *loopExchange, b *loopBackend, err error) gnet.Action {
	l.f.log.Warn("router: backend error", "app", ex.route.app, "backend", b.addr, "err", err, "request_id", string(ex.id))
	b.ex, ex.backend = nil, nil
	if ex.sentHead {
		l.abort(ex)
	} else {
		l.respond(ex, http.StatusBadGateway, badGatewayPage(ex.route.app))
	}
	return gnet.Close
}

// backendClosed handles a backend connection that ended.
func (l *frontLoop) backendClosed(b *loopBackend) {
	l.dropIdle(b)
	ex := b.ex
	if ex == nil {
		return
	}
	b.ex, ex.backend = nil, nil
	fc := ex.client
	next, another := ex.route.rr.after(ex.idx)
	switch {
	case ex.phase == phaseHead && !ex.gotAny && b.reused && !ex.retried:
		ex.retried = true // the backend closed an idle connection as we used it
		l.send(ex, true)
		return
	case ex.phase == phaseHead && !ex.gotAny && another && ex.dials == 0:
		// The backend went away without a word (stopped, killed). Every
		// request here is a bodiless GET, HEAD or OPTIONS: safe to send
		// once more, to the next backend.
		l.f.log.Warn("router: backend closed without answering, trying another", "app", ex.route.app, "backend", b.addr, "request_id", string(ex.id))
		ex.dials++
		ex.idx = next
		l.send(ex, false)
		return
	case ex.phase == phaseBody && ex.ri.frame == frameUntilClose:
		fc.c.Write(lastChunk)
		l.finish(ex, false)
	case ex.sentHead:
		l.f.log.Warn("router: backend closed mid-response", "app", ex.route.app, "backend", b.addr, "request_id", string(ex.id))
		l.abort(ex)
	default:
		l.f.log.Warn("router: backend closed without answering", "app", ex.route.app, "backend", b.addr, "request_id", string(ex.id))
		l.respond(ex, http.StatusBadGateway, badGatewayPage(ex.route.app))
	}
	l.resume(fc)
}

// respond answers ex with a plain page and ends it.
func (l *frontLoop) respond(ex *loopExchange, status int, body string) {
	fc := ex.client
	out := appendPage(l.scratch[:0], status, body, ex.headReq, ex.closeClient)
	fc.c.Write(out)
	l.scratch = out[:0]
	ex.status, ex.bytes = status, int64(len(body))
	if ex.headReq {
		ex.bytes = 0
	}
	if fc.ex == ex {
		l.finish(ex, false)
	}
}

// appendPage appends a complete plain-text response, as writePage sends it.
func appendPage(out []byte, status int, body string, headReq, close bool) []byte {
	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(status), 10)
	out = append(out, ' ')
	out = append(out, http.StatusText(status)...)
	out = append(out, "\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(body)), 10)
	out = append(out, "\r\nDate: "...)
	out = time.Now().UTC().AppendFormat(out, http.TimeFormat)
	if close {
		out = append(out, "\r\nConnection: close"...)
	}
	out = append(out, "\r\n\r\n"...)
	if !headReq {
		out = append(out, body...)
	}
	return out
}

// finish ends ex: the backend connection goes back to the pool when
// reusable (else it is closed), the request is logged, and the client
// connection waits for its next request or closes.
func (l *frontLoop) finish(ex *loopExchange, reusable bool) {
	if b := ex.backend; b != nil {
		b.ex, ex.backend = nil, nil
		if reusable {
			l.putIdle(b)
		} else if b.c != nil {
			b.c.Close()
		}
	}
	fc := ex.client
	fc.ex, fc.since = nil, time.Now()
	l.log(ex)
	closeClient := ex.closeClient
	l.release(ex)
	if closeClient {
		l.closeWhenDrained(fc)
	}
}

// abort ends ex after part of its response went out: the client can only
// tell from the connection closing.
func (l *frontLoop) abort(ex *loopExchange) {
	ex.closeClient = false
	fc := ex.client
	l.finish(ex, false)
	fc.state = connClosing
	fc.c.Close()
}

// resume serves the client's next buffered request once the last is done.
func (l *frontLoop) resume(fc *frontConn) {
	if fc.ex == nil && fc.state == connOpen && fc.c.InboundBuffered() > 0 {
		l.clientTraffic(fc, false)
	}
}

func (l *frontLoop) log(ex *loopExchange) {
	if l.f.r.accessLog == nil {
		return
	}
	e := AccessEntry{Host: ex.host, Method: ex.method, Path: ex.path, Status: ex.status,
		Duration: time.Since(ex.start), Bytes: ex.bytes, RequestID: string(ex.id)}
	if ex.route != nil {
		e.App = ex.route.app
		if len(ex.route.rr.addrs) > 0 {
			e.Backend = ex.route.rr.addrs[ex.idx]
		}
	}
	l.f.r.accessLog(e)
}

// clientClosed handles a client connection that ended.
func (l *frontLoop) clientClosed(fc *frontConn) {
	delete(l.clients, fc)
	fc.state = connGone
	ex := fc.ex
	if ex == nil {
		return
	}
	fc.ex = nil
	if ex.status == 0 {
		ex.status = statusClientClosed
	}
	if b := ex.backend; b != nil {
		b.ex, ex.backend = nil, nil
		if !b.dialing {
			b.c.Close()
		}
	}
	if ex.pacer != nil {
		ex.pacer.clientGone() // the pacer logs and releases ex
		return
	}
	l.log(ex)
	l.release(ex)
}

// closeNow closes fc at once.
func (l *frontLoop) closeNow(fc *frontConn, own bool) gnet.Action {
	fc.state = connClosing
	if own {
		return gnet.Close
	}
	fc.c.Close()
	return gnet.None
}

// closeWhenDrained closes fc once what it was sent has left.
func (l *frontLoop) closeWhenDrained(fc *frontConn) {
	fc.state = connClosing
	l.whenDrained(fc, func() { fc.c.Close() })
}

// sweep applies the timeouts, once per frontSweep.
func (l *frontLoop) sweep(now time.Time) {
	for fc := range l.clients {
		switch ex := fc.ex; {
		case ex != nil:
			if ex.pacer != nil || (ex.backend != nil && ex.backend.dialing) {
				continue // the pacer and the dialer time out on their own
			}
			if timeout := ex.route.timeout; now.Sub(ex.last) > timeout {
				l.timedOut(ex, timeout)
				l.resume(fc)
			}
		case fc.state != connOpen:
		case !fc.headStart.IsZero():
			if now.Sub(fc.headStart) > l.f.o.ReadHeaderTimeout {
				fc.c.Close()
			}
		case now.Sub(fc.since) > l.f.o.IdleTimeout:
			fc.c.Close()
		}
	}
	l.sweepIdle(now)
}

// timedOut answers 504 for a backend that did not answer in time, or cuts
// a response whose body stalled.
func (l *frontLoop) timedOut(ex *loopExchange, timeout time.Duration) {
	app := ex.route.app
	l.f.log.Warn("router: backend timed out", "app", app, "backend", ex.route.rr.addrs[ex.idx], "timeout", timeout, "request_id", string(ex.id))
	if b := ex.backend; b != nil {
		b.ex, ex.backend = nil, nil
		b.c.Close()
	}
	if ex.sentHead {
		ex.status = http.StatusGatewayTimeout // for the access log: the client saw the response cut short
		l.abort(ex)
		return
	}
	l.respond(ex, http.StatusGatewayTimeout, timeoutPage(app, timeout))
}

// takeIdle returns an idle connection to addr, or nil.
func (l *frontLoop) takeIdle(addr string) *loopBackend {
	conns := l.idle[addr]
	if len(conns) == 0 {
		return nil
	}
	b := conns[len(conns)-1]
	conns[len(conns)-1] = nil
	l.idle[addr] = conns[:len(conns)-1]
	b.reused = true
	return b
}

func (l *frontLoop) putIdle(b *loopBackend) {
	conns := l.idle[b.addr]
	if len(conns) >= maxIdlePerLoop {
		b.c.Close()
		return
	}
	b.idleAt = time.Now()
	l.idle[b.addr] = append(conns, b)
}

// dropIdle removes b from the pool, when it is there.
func (l *frontLoop) dropIdle(b *loopBackend) {
	conns := l.idle[b.addr]
	for i, c := range conns {
		if c == b {
			l.idle[b.addr] = append(conns[:i], conns[i+1:]...)
			return
		}
	}
}

// sweepIdle closes pooled connections idle too long or to backends no
// longer in the table.
func (l *frontLoop) sweepIdle(now time.Time) {
	live := l.f.r.table.Load().addrs()
	for addr, conns := range l.idle {
		keep := conns[:0]
		for _, b := range conns {
			if live[addr] && now.Sub(b.idleAt) < backendIdle {
				keep = append(keep, b)
			} else {
				b.c.Close()
			}
		}
		if len(keep) == 0 {
			delete(l.idle, addr)
		} else {
			l.idle[addr] = keep
		}
	}
}

// lookupBytes is lookup for a Host header still in the read buffer.
func (t *table) lookupBytes(hostHeader []byte) *route {
	host := stripPortBytes(hostHeader)
	if n := len(host); n > 0 && host[n-1] == '.' {
		host = host[:n-1]
	}
	if len(host) == 0 || len(host) > maxHostLen {
		return nil
	}
	var buf [maxHostLen]byte
	name := buf[:copy(buf[:], host)]
	lowerASCII(name)
	return find(t, name)
}

func stripPortBytes(h []byte) []byte {
	i := bytes.LastIndexByte(h, ':')
	if i < 0 || bytes.LastIndexByte(h, ']') > i {
		return h
	}
	return h[:i]
}
