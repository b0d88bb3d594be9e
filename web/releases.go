package web

import "github.com/go-chi/chi/v5"

// ReleaseService is what the API routes for releases, config, process types, scaling, resources and storage (issue 3) need from the daemon.
type ReleaseService interface{}

// releaseRoutes registers the API routes for releases, config, process types, scaling, resources and storage (issue 3).
func (s *server) releaseRoutes(r chi.Router) {}
