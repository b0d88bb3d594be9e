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
	ex.ctx = exchangeCtx{Context: req.Context(), ex: ex}
	out := req.WithContext(&ex.ctx)
	if req.ContentLength != 0 && req.Body != nil && req.Body != http.NoBody {
		ex.body.rc = req.Body
		ex.body.limit = r.maxBody
		out.Body = &ex.body
	}
	r.proxy.ServeHTTP(&ex.rw, out)
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
		writeTooLarge(w, r.maxBody)
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

// statusClientClosed is nginx's "client closed request", for the access log only.
const statusClientClosed = 499
