package web

import "github.com/go-chi/chi/v5"

// DomainService is what the API routes for domains, certificates and router logs (issue 4) need from the daemon.
type DomainService interface{}

// domainRoutes registers the API routes for domains, certificates and router logs (issue 4).
func (s *server) domainRoutes(r chi.Router) {}
