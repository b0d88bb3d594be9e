package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/wharfhq/wharf"
)

// BuildService is what the API routes for builds and the build cache (issue 5) need from the daemon.
type BuildService interface {
	// Builds lists the app's builds, newest first, without their output.
	Builds(ctx context.Context, app string) ([]wharf.Build, error)
	// Build returns one build with its output; id 0 is the newest.
	Build(ctx context.Context, app string, id int64) (wharf.Build, error)
	// PurgeBuildCache deletes the app's build cache (CACHE_DIR): the next
	// build starts cold.
	PurgeBuildCache(ctx context.Context, user, app string) error
}

// buildRoutes registers the API routes for builds and the build cache (issue 5).
func (s *server) buildRoutes(r chi.Router) {
	r.Get("/apps/{app}/builds", s.api(s.listBuilds))
	r.Get("/apps/{app}/builds/{id}", s.api(s.getBuild))
	r.Delete("/apps/{app}/build-cache", s.api(s.purgeBuildCache))
}

func (s *server) listBuilds(w http.ResponseWriter, r *http.Request, _ string) error {
	builds, err := s.svc.Builds(r.Context(), chi.URLParam(r, "app"))
	if err != nil {
		return err
	}
	if builds == nil {
		builds = []wharf.Build{}
	}
	writeJSON(w, http.StatusOK, builds)
	return nil
}

// getBuild answers GET /apps/{app}/builds/{id}; id "latest" is the newest.
func (s *server) getBuild(w http.ResponseWriter, r *http.Request, _ string) error {
	var id int64
	if raw := chi.URLParam(r, "id"); raw != "latest" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n <= 0 {
			return wharf.Errorf(wharf.EINVALID, "invalid build id %q: want a number or latest", raw)
		}
		id = n
	}
	b, err := s.svc.Build(r.Context(), chi.URLParam(r, "app"), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

func (s *server) purgeBuildCache(w http.ResponseWriter, r *http.Request, user string) error {
	if err := s.svc.PurgeBuildCache(r.Context(), user, chi.URLParam(r, "app")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"purged": true})
	return nil
}
