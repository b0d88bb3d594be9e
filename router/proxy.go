package router

import (
	"context"
	"errors"
	"net/http"
	"net/http/httputil"
)

// forward proxies req to one of ex.route's backends.
func (r *Router) forward(ex *exchange, req *http.Request) {
	if fastPathOK(req) {
		r.fastForward(ex, req)
		return
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	defer cancel(nil)
	ex.ctx = exchangeCtx{Context: ctx, ex: ex}
	ex.wd = startWatchdog(ex.route.timeout, cancel)
	defer r.endWatch(ex) // deferred: ReverseProxy panics when it cuts a body short
	out := req.WithContext(&ex.ctx)
	if req.ContentLength != 0 && req.Body != nil && req.Body != http.NoBody {
		ex.body.rc = req.Body
		ex.body.limit = ex.route.maxBody
		ex.body.wd = ex.wd
		out.Body = &ex.body
		// The transport writes the body on a goroutine of its own, which
		// may still be at it when the backend's response head comes back
		// (a backend that streams may answer before it reads the body).
		// Without full duplex, net/http would then drain and close the
		// client's body as it writes the head: the transport's next read
		// of the body would fail, and the transport would close the
		// backend connection, cutting the response short. HTTP/2 is
		// always full duplex.
		_ = http.NewResponseController(ex.rw.ResponseWriter).EnableFullDuplex()
	}
	r.proxy.ServeHTTP(&ex.rw, out)
}

// modifyResponse is ReverseProxy's ModifyResponse hook: the head arrived,
// so the watchdog now runs only during reads of the body. An upgraded
// connection has no timeout.
func (r *Router) modifyResponse(res *http.Response) error {
	ex := exchangeOf(res.Request)
	if ex == nil || ex.wd == nil {
		return nil
	}
	if ex.wd.headArrived() {
		return errBackendTimeout
	}
	if res.StatusCode != http.StatusSwitchingProtocols && res.Body != nil && res.Body != http.NoBody {
		res.Body = ex.wd.watchBody(res.Body)
	}
	return nil
}

// endWatch disarms the watchdog. When it cut the response body short
// (ReverseProxy then aborts the client's response), the timeout is logged
// and the access log gets 504.
func (r *Router) endWatch(ex *exchange) {
	ex.wd.stop()
	if ex.wd.body.timedOut {
		r.logTimeout(ex, "response body")
		ex.rw.status = http.StatusGatewayTimeout
	}
}

// rewrite is ReverseProxy's Rewrite hook: pick the backend and set the
// forwarding headers. Out.Host stays the client's Host.
func (r *Router) rewrite(pr *httputil.ProxyRequest) {
	ex := exchangeOf(pr.In)
	ex.backend = ex.route.rr.pick()
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = ex.route.rr.addrs[ex.backend]
	r.setForwarded(pr.Out.Header, pr.In, ex)
}

// proxyError is ReverseProxy's ErrorHandler: nothing has been written to
// the client yet when it runs.
func (r *Router) proxyError(w http.ResponseWriter, req *http.Request, err error) {
	ex := exchangeOf(req)
	if ex == nil { // cannot happen: every proxied request carries one
		writePage(w, http.StatusBadGateway, badGatewayPage("?"))
		return
	}
	app, backend := ex.route.app, ex.route.rr.addrs[max(ex.backend, 0)]
	switch {
	case ex.body.tooLarge.Load():
		writeTooLarge(w, ex.body.limit)
	case ex.wd != nil && ex.wd.fired.Load():
		r.logTimeout(ex, "response head")
		writePage(w, http.StatusGatewayTimeout, timeoutPage(app, ex.route.timeout))
	case ex.ctx.Err() != nil && errors.Is(err, context.Canceled):
		ex.rw.status = statusClientClosed
		r.log.Debug("router: client went away", "app", app, "backend", backend, "request_id", ex.requestID)
	case ex.dialErr:
		r.log.Warn("router: no backend reachable", "app", app, "backend", backend, "err", err, "request_id", ex.requestID)
		writePage(w, http.StatusServiceUnavailable, unreachablePage(app))
	default:
		r.log.Warn("router: backend error", "app", app, "backend", backend, "err", err, "request_id", ex.requestID)
		writePage(w, http.StatusBadGateway, badGatewayPage(app))
	}
}

// logTimeout logs a backend that kept the router waiting longer than its
// route's timeout for waitingFor.
func (r *Router) logTimeout(ex *exchange, waitingFor string) {
	r.log.Warn("router: backend timed out", "app", ex.route.app, "backend", ex.route.rr.addrs[max(ex.backend, 0)],
		"timeout", ex.route.timeout, "waiting_for", waitingFor, "request_id", ex.requestID)
}

// statusClientClosed is nginx's "client closed request", for the access log only.
const statusClientClosed = 499
