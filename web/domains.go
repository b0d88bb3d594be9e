package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/wharfhq/wharf"
)

// DomainService is what the API routes for domains, certificates and router logs (issue 4) need from the daemon.
type DomainService interface {
	// ListDomains returns an app's custom domains; ENOTFOUND for no app.
	ListDomains(ctx context.Context, app string) ([]Domain, error)
	// AddDomain routes hostname to app; ECONFLICT names the app that has it.
	AddDomain(ctx context.Context, user, app, hostname string) (Domain, error)
	RemoveDomain(ctx context.Context, user, app, hostname string) error
	// RouterLogs returns the app's newest n access-log entries (JSON
	// objects), oldest first.
	RouterLogs(ctx context.Context, app string, n int) ([]json.RawMessage, error)
	// ListCertificates returns an app's TLS certificates (never their keys).
	ListCertificates(ctx context.Context, app string) ([]Certificate, error)
	// AddCertificate installs a PEM certificate chain and key whose names
	// are the app's domains; EINVALID says what is wrong with it.
	AddCertificate(ctx context.Context, user, app, certPEM, keyPEM string) (Certificate, error)
	// SetRedirectHTTPS turns the app's HTTP → HTTPS redirect on or off.
	SetRedirectHTTPS(ctx context.Context, user, app string, on bool) error
	// RouterSettings returns the app's body limit and timeout with the
	// router's defaults.
	RouterSettings(ctx context.Context, app string) (RouterSettings, error)
	// SetRouterSettings applies key=value router settings (an empty value
	// resets a key to the default); EINVALID names the valid keys.
	SetRouterSettings(ctx context.Context, user, app string, set map[string]string) (RouterSettings, error)
}

// redirectRequest is the body of PUT /apps/{app}/https-redirect.
type redirectRequest struct {
	Enabled *bool `json:"enabled"`
}

// Certificate describes a TLS certificate of an app.
type Certificate struct {
	App       string    `json:"app"`
	Names     []string  `json:"names"`
	NotAfter  time.Time `json:"not_after"`
	CreatedAt time.Time `json:"created_at"`
}

// addCertificateRequest is the body of POST /apps/{app}/certs.
type addCertificateRequest struct {
	CertPEM string `json:"cert_pem"`
	KeyPEM  string `json:"key_pem"`
}

// Domain is a custom hostname of an app.
type Domain struct {
	App       string    `json:"app"`
	Hostname  string    `json:"hostname"` // "*.example.com" for a wildcard
	CreatedAt time.Time `json:"created_at"`
}

// Router log lengths for GET /apps/{app}/router-logs?n=.
const (
	DefaultRouterLogs = 100
	MaxRouterLogs     = 1000
)

// addDomainRequest is the body of POST /apps/{app}/domains.
type addDomainRequest struct {
	Hostname string `json:"hostname"`
}

// domainRoutes registers the API routes for domains, certificates and router logs (issue 4).
func (s *server) domainRoutes(r chi.Router) {
	r.Get("/apps/{app}/domains", s.api(s.listDomains))
	r.Post("/apps/{app}/domains", s.api(s.addDomain))
	r.Delete("/apps/{app}/domains/{hostname}", s.api(s.removeDomain))
	r.Get("/apps/{app}/router-logs", s.api(s.routerLogs))
	r.Get("/apps/{app}/certs", s.api(s.listCertificates))
	r.Post("/apps/{app}/certs", s.api(s.addCertificate))
	r.Put("/apps/{app}/https-redirect", s.api(s.setRedirect))
	r.Get("/apps/{app}/router", s.api(s.getRouterSettings))
	r.Patch("/apps/{app}/router", s.api(s.setRouterSettings))
}

// setRedirect answers PUT /apps/{app}/https-redirect {"enabled": bool} with 204.
func (s *server) setRedirect(w http.ResponseWriter, r *http.Request, user string) error {
	var req redirectRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Enabled == nil {
		return wharf.Errorf(wharf.EINVALID, `missing "enabled": send {"enabled": true} or {"enabled": false}`)
	}
	if err := s.svc.SetRedirectHTTPS(r.Context(), user, chi.URLParam(r, "app"), *req.Enabled); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listCertificates answers GET /apps/{app}/certs with a JSON array of Certificate.
func (s *server) listCertificates(w http.ResponseWriter, r *http.Request, _ string) error {
	cs, err := s.svc.ListCertificates(r.Context(), chi.URLParam(r, "app"))
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []Certificate{}
	}
	writeJSON(w, http.StatusOK, cs)
	return nil
}

// addCertificate answers POST /apps/{app}/certs {"cert_pem", "key_pem"} with 201.
func (s *server) addCertificate(w http.ResponseWriter, r *http.Request, user string) error {
	var req addCertificateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.CertPEM == "" || req.KeyPEM == "" {
		return wharf.Errorf(wharf.EINVALID, `missing certificate or key: send {"cert_pem": "-----BEGIN CERTIFICATE-----...", "key_pem": "-----BEGIN PRIVATE KEY-----..."}`)
	}
	c, err := s.svc.AddCertificate(r.Context(), user, chi.URLParam(r, "app"), req.CertPEM, req.KeyPEM)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

// listDomains answers GET /apps/{app}/domains with a JSON array of Domain.
func (s *server) listDomains(w http.ResponseWriter, r *http.Request, _ string) error {
	ds, err := s.svc.ListDomains(r.Context(), chi.URLParam(r, "app"))
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []Domain{}
	}
	writeJSON(w, http.StatusOK, ds)
	return nil
}

// addDomain answers POST /apps/{app}/domains {"hostname"} with 201 and the Domain.
func (s *server) addDomain(w http.ResponseWriter, r *http.Request, user string) error {
	var req addDomainRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Hostname == "" {
		return wharf.Errorf(wharf.EINVALID, `missing hostname: send {"hostname": "www.example.com"}`)
	}
	d, err := s.svc.AddDomain(r.Context(), user, chi.URLParam(r, "app"), req.Hostname)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, d)
	return nil
}

// removeDomain answers DELETE /apps/{app}/domains/{hostname} with 204.
func (s *server) removeDomain(w http.ResponseWriter, r *http.Request, user string) error {
	if err := s.svc.RemoveDomain(r.Context(), user, chi.URLParam(r, "app"), chi.URLParam(r, "hostname")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// routerLogs answers GET /apps/{app}/router-logs?n=N with a JSON array of
// access-log entries, oldest first.
func (s *server) routerLogs(w http.ResponseWriter, r *http.Request, _ string) error {
	n := DefaultRouterLogs
	if v := r.URL.Query().Get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > MaxRouterLogs {
			return wharf.Errorf(wharf.EINVALID, "n must be a number from 1 to %d, not %q", MaxRouterLogs, v)
		}
	}
	logs, err := s.svc.RouterLogs(r.Context(), chi.URLParam(r, "app"), n)
	if err != nil {
		return err
	}
	if logs == nil {
		logs = []json.RawMessage{}
	}
	writeJSON(w, http.StatusOK, logs)
	return nil
}
