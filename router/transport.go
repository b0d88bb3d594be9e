package router

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// newTransport returns the one Transport all routes share: keep-alive
// connections to every backend, no environment proxy, no gzip games.
func newTransport() *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           d.DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true, // pass Accept-Encoding and bodies through untouched
	}
}

// retryTransport retries a request once on the route's next backend when
// the first one could not be dialled, which means nothing was sent. A
// request whose body has started to be read is never retried.
type retryTransport struct {
	base http.RoundTripper
	log  *slog.Logger
}

func (t retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(req)
	if err == nil {
		return res, nil
	}
	ex := exchangeOf(req)
	if ex == nil || !isDialError(err) {
		return nil, err
	}
	ex.dialErr = true
	next, ok := ex.route.rr.after(ex.backend)
	if !ok || ex.body.n.Load() > 0 {
		return nil, err
	}
	t.log.Debug("router: retrying on another backend", "app", ex.route.app,
		"failed", ex.route.rr.addrs[ex.backend], "next", ex.route.rr.addrs[next], "err", err)
	retry := req.WithContext(req.Context())
	u := *req.URL
	u.Host = ex.route.rr.addrs[next]
	retry.URL = &u
	if req.Body != nil {
		retry.Body = &ex.body // the transport closed ReverseProxy's wrapper
	}
	ex.backend = next
	res, err = t.base.RoundTrip(retry)
	ex.dialErr = err != nil && isDialError(err)
	return res, err
}

// isDialError reports whether err means no connection was made.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// bufferPool lends ReverseProxy 32 KiB copy buffers. It keeps *[]byte in
// the pool, and recycles the pointers too, so neither Get nor Put allocates
// once warm.
type bufferPool struct {
	bufs  sync.Pool // *[]byte holding a buffer
	boxes sync.Pool // empty *[]byte, ready to hold one
}

const copyBufferSize = 32 << 10

func newBufferPool() *bufferPool { return &bufferPool{} }

func (p *bufferPool) Get() []byte {
	box, ok := p.bufs.Get().(*[]byte)
	if !ok {
		return make([]byte, copyBufferSize)
	}
	b := *box
	*box = nil
	p.boxes.Put(box)
	return b
}

func (p *bufferPool) Put(b []byte) {
	if cap(b) < copyBufferSize {
		return
	}
	box, ok := p.boxes.Get().(*[]byte)
	if !ok {
		box = new([]byte)
	}
	*box = b[:copyBufferSize]
	p.bufs.Put(box)
}
