package web

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/wharfhq/wharf"
)

// server holds what every handler needs; handlers are its methods.
type server struct {
	svc  Service
	log  *slog.Logger
	dash *dashboard // the HTML pages (dashboard.go)
}

// NewHandler returns the daemon's HTTP handler: GET /healthz without
// authentication, and the JSON API under /api/v1, where every route
// requires "Authorization: Bearer <token>". Every request is logged
// (never its token) and a panic in a handler becomes a 500.
func NewHandler(svc Service, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{svc: svc, log: log}
	r := chi.NewRouter()
	r.Use(s.logRequests, s.recoverPanics)
	r.Get("/healthz", s.healthz)
	r.Route("/api/v1", s.apiRoutes)
	s.dashboardRoutes(r)
	return r
}

// apiRoutes registers the JSON API. Every handler goes through s.api, which
// authenticates the caller and writes errors.
func (s *server) apiRoutes(r chi.Router) {
	r.Get("/apps", s.api(s.listApps))
	r.Post("/apps", s.api(s.createApp))
	r.Get("/apps/{app}", s.api(s.appInfo))
	r.Delete("/apps/{app}", s.api(s.destroyApp))
	r.Get("/apps/{app}/ps", s.api(s.processes))
	r.Get("/keys", s.api(s.listKeys))
	r.Post("/keys", s.api(s.addKey))
	r.Delete("/keys/{name}", s.api(s.removeKey))
	s.releaseRoutes(r)
	s.domainRoutes(r)
	s.buildRoutes(r)
	s.activityRoutes(r)
	s.nodeRoutes(r)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, wharf.Errorf(wharf.ENOTFOUND, "no API route %s %s", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errMethodNotAllowed{method: r.Method, path: r.URL.Path})
	})
}
