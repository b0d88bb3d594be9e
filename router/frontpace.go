package router

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// Leaving the event loops. A response that outgrows what a slow client
// has taken (paceAbove) continues from a pacer goroutine that reads the
// backend with ordinary blocking I/O and writes to the client only as fast
// as it drains. A request the loops don't serve is handed, connection and
// all, to net/http. Both take the file descriptor out of gnet with dup, so
// closing gnet's copy neither sends a FIN nor loses a byte.

// Pacing bounds.
const (
	paceBelow = 64 << 10 // a paced response writes again once the client has less than this unsent
	paceRead  = 64 << 10
	drainPoll = 2 * time.Millisecond
	drainMax  = 30 * time.Second // how long a connection may take to drain before it is closed anyway
)

var errClientGone = errors.New("client went away")

// pacer is the goroutine side of a paced exchange.
type pacer struct {
	gone atomic.Bool
	mu   sync.Mutex
	conn net.Conn // the backend, once out of gnet
}

// clientGone stops the pacer; called on the loop.
func (p *pacer) clientGone() {
	p.gone.Store(true)
	p.mu.Lock()
	if p.conn != nil {
		p.conn.Close() // unblocks its read
	}
	p.mu.Unlock()
}

func (p *pacer) setConn(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conn = c
	return !p.gone.Load()
}

// pace moves ex's backend connection to a pacer goroutine. It returns the
// action for the backend's gnet connection: Close, so gnet reads nothing
// more from it.
func (l *frontLoop) pace(ex *loopExchange, b *loopBackend) gnet.Action {
	fd, err := b.c.Dup()
	b.ex, ex.backend = nil, nil
	if err != nil {
		l.f.log.Warn("router: cannot pace a response", "app", ex.route.app, "err", err)
		l.abort(ex)
		return gnet.Close
	}
	ex.pacer = &pacer{}
	go l.runPacer(ex, fd)
	return gnet.Close
}

// runPacer streams the rest of ex's body from the backend fd.
func (l *frontLoop) runPacer(ex *loopExchange, fd int) {
	p := ex.pacer
	conn, err := fileConn(fd)
	if err == nil && !p.setConn(conn) {
		err = errClientGone
	}
	if err == nil {
		err = l.pump(ex, conn)
	}
	if conn != nil {
		conn.Close()
	}
	_ = l.execute(func() {
		fc := ex.client
		switch {
		case p.gone.Load():
			l.log(ex)
			l.release(ex)
		case err != nil:
			l.f.log.Warn("router: paced response cut short", "app", ex.route.app, "err", err, "request_id", string(ex.id))
			ex.pacer = nil
			l.abort(ex)
		default:
			ex.pacer = nil
			l.finish(ex, false)
			l.resume(fc)
		}
	})
}

// pump copies the body from conn to the client until it ends.
func (l *frontLoop) pump(ex *loopExchange, conn net.Conn) error {
	buf := make([]byte, paceRead)
	timeout := ex.route.timeout
	for {
		if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return err
		}
		n, rerr := conn.Read(buf)
		if n > 0 {
			pre, data, post, _, done, err := ex.bodyPiece(buf[:n])
			if err == nil {
				err = l.sendPaced(ex, pre, data, post)
			}
			if err != nil || done {
				return err
			}
		}
		switch {
		case rerr == nil:
		case errors.Is(rerr, io.EOF) && ex.ri.frame == frameUntilClose:
			return l.sendPaced(ex, nil, lastChunk, nil)
		case errors.Is(rerr, io.EOF):
			return io.ErrUnexpectedEOF
		case errors.Is(rerr, os.ErrDeadlineExceeded):
			ex.status = http.StatusGatewayTimeout // for the access log
			return errTimeout
		default:
			return rerr
		}
	}
}

// sendPaced writes the parts to the client on the loop, then waits until
// the client has less than paceBelow left to take.
func (l *frontLoop) sendPaced(ex *loopExchange, pre, data, post []byte) error {
	ex.bytes += int64(len(data)) // only the pacer touches ex now
	wrote := make(chan bool, 1)
	err := l.execute(func() {
		fc := ex.client
		if !ex.pacer.gone.Load() && fc.state != connGone {
			l.writeParts(fc.c, pre, data, post, nil)
		}
		wrote <- !ex.pacer.gone.Load()
	})
	if err != nil {
		return err
	}
	if !<-wrote {
		return errClientGone
	}
	return l.waitDrain(ex, time.Now().Add(drainMax))
}

// waitDrain polls the client's unsent bytes until they drop below paceBelow.
func (l *frontLoop) waitDrain(ex *loopExchange, deadline time.Time) error {
	pending := make(chan int, 1)
	for {
		var left int
		err := l.execute(func() {
			if ex.pacer.gone.Load() || ex.client.state == connGone {
				pending <- -1
				return
			}
			pending <- ex.client.c.OutboundBuffered()
		})
		if err != nil {
			return err
		}
		if left = <-pending; left < 0 {
			return errClientGone
		}
		if left < paceBelow {
			return nil
		}
		if time.Now().After(deadline) {
			return errTimeout
		}
		time.Sleep(drainPoll)
	}
}

// whenDrained runs then on the loop once fc has sent everything, or after
// drainMax.
func (l *frontLoop) whenDrained(fc *frontConn, then func()) {
	if fc.c.OutboundBuffered() == 0 {
		then()
		return
	}
	go func() {
		deadline := time.Now().Add(drainMax)
		done := make(chan bool, 1)
		for {
			time.Sleep(drainPoll)
			err := l.execute(func() {
				switch {
				case fc.state == connGone:
					done <- true
				case fc.c.OutboundBuffered() == 0 || time.Now().After(deadline):
					then()
					done <- true
				default:
					done <- false
				}
			})
			if err != nil || <-done {
				return
			}
		}
	}()
}

// handOff gives fc to net/http with every byte it has sent so far. own
// says gnet called us for fc, so the close is an action to return.
func (l *frontLoop) handOff(fc *frontConn, own bool) gnet.Action {
	if fc.c.OutboundBuffered() > 0 {
		// The last response is still on its way; hand off once it left.
		fc.state = connClosing
		l.whenDrained(fc, func() {
			if l.handOffNow(fc) == gnet.Close {
				l.el.Close(fc.c)
			}
		})
		return gnet.None
	}
	return l.handOffNow(fc)
}

func (l *frontLoop) handOffNow(fc *frontConn) gnet.Action {
	buf, _ := fc.c.Peek(-1)
	sent := append([]byte(nil), buf...)
	fd, err := fc.c.Dup()
	fc.state = connGone
	if err != nil {
		l.f.log.Warn("router: cannot hand a connection to net/http", "err", err)
		return gnet.Close
	}
	go func() {
		conn, err := fileConn(fd)
		if err != nil {
			l.f.log.Warn("router: cannot hand a connection to net/http", "err", err)
			return
		}
		if !l.f.handoffs.put(&prefixConn{Conn: conn, prefix: sent}) {
			conn.Close()
		}
	}()
	return gnet.Close
}

// fileConn makes a net.Conn of a duplicated descriptor, which it owns.
func fileConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "tcp")
	defer f.Close()
	return net.FileConn(f)
}

// prefixConn replays the bytes the event loop already read.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite lets net/http half-close, as it does on a plain TCP connection.
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// connQueue is the net.Listener net/http serves handed-off connections from.
type connQueue struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newConnQueue() *connQueue {
	return &connQueue{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (q *connQueue) put(c net.Conn) bool {
	select {
	case q.conns <- c:
		return true
	case <-q.closed:
		return false
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.conns:
		return c, nil
	case <-q.closed:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.closed) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }
