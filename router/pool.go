package router

import (
	"bufio"
	"context"
	"net"
	"sync"
	"time"
)

// Backend connection pool bounds for the fast path (fastpath.go).
const (
	maxIdlePerBackend = 256
	idleTimeout       = 90 * time.Second
	dialTimeout       = 5 * time.Second
	connReadBuffer    = 16 << 10
	connWriteBuffer   = 4 << 10
)

// backendConn is one keep-alive HTTP/1.1 connection to a backend, with its
// buffers, reused request after request.
type backendConn struct {
	conn   net.Conn
	rd     deadlineReader // what br reads from: conn with the route's timeout
	br     *bufio.Reader
	bw     *bufio.Writer
	idleAt time.Time
	reused bool // it served a request before this one
}

// connPool keeps idle connections per backend address. Connections are
// handed out last-in first-out, so a burst reuses warm ones and the rest
// age out.
type connPool struct {
	mu     sync.Mutex
	idle   map[string][]*backendConn
	dialer net.Dialer
}

func newConnPool() *connPool {
	return &connPool{idle: map[string][]*backendConn{}, dialer: net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}}
}

// get returns an idle connection to addr, or nil when there is none.
// Connections idle for longer than idleTimeout are closed on the way.
func (p *connPool) get(addr string) *backendConn {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	conns := p.idle[addr]
	for len(conns) > 0 {
		bc := conns[len(conns)-1]
		conns[len(conns)-1] = nil
		conns = conns[:len(conns)-1]
		p.idle[addr] = conns
		if now.Sub(bc.idleAt) < idleTimeout {
			bc.reused = true
			return bc
		}
		bc.conn.Close()
	}
	return nil
}

// dial opens a new connection to addr.
func (p *connPool) dial(ctx context.Context, addr string) (*backendConn, error) {
	c, err := p.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	bc := &backendConn{conn: c, rd: deadlineReader{conn: c}, bw: bufio.NewWriterSize(c, connWriteBuffer)}
	bc.br = bufio.NewReaderSize(&bc.rd, connReadBuffer)
	return bc, nil
}

// put returns bc to the idle list of addr, or closes it when the list is full.
func (p *connPool) put(addr string, bc *backendConn) {
	bc.idleAt = time.Now()
	p.mu.Lock()
	conns := p.idle[addr]
	if len(conns) < maxIdlePerBackend {
		p.idle[addr] = append(conns, bc)
		bc = nil
	}
	p.mu.Unlock()
	if bc != nil {
		bc.conn.Close()
	}
}

// retain closes the idle connections of every address not in keep.
func (p *connPool) retain(keep map[string]bool) {
	p.mu.Lock()
	var drop []*backendConn
	for addr, conns := range p.idle {
		if !keep[addr] {
			drop = append(drop, conns...)
			delete(p.idle, addr)
		}
	}
	p.mu.Unlock()
	for _, bc := range drop {
		bc.conn.Close()
	}
}

// closeIdle closes every idle connection.
func (p *connPool) closeIdle() { p.retain(nil) }
