package web

import "github.com/go-chi/chi/v5"

// ActivityService is what the API routes for logs, activity, users and access (issue 6) need from the daemon.
type ActivityService interface{}

// activityRoutes registers the API routes for logs, activity, users and access (issue 6).
func (s *server) activityRoutes(r chi.Router) {}
