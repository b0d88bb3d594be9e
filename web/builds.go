package web

import "github.com/go-chi/chi/v5"

// BuildService is what the API routes for builds and the build cache (issue 5) need from the daemon.
type BuildService interface{}

// buildRoutes registers the API routes for builds and the build cache (issue 5).
func (s *server) buildRoutes(r chi.Router) {}
