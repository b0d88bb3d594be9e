package web

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/wharfhq/wharf"
)

//go:embed templates/*.html static/*
var dashboardFS embed.FS

// sessionCookie holds the dashboard session token; loginCSRFCookie the
// token the login form echoes before there is a session.
const (
	sessionCookie   = "wharf_session"
	loginCSRFCookie = "wharf_login_csrf"
)

// dashboard is the HTML interface: pages parsed once, the login limiter
// and what ends live streams at shutdown.
type dashboard struct {
	pages   map[string]*template.Template
	limiter *loginLimiter
	streams streamStops // shared with the API's followed logs
}

// viewer is the logged-in user of a dashboard request.
type viewer struct {
	User
	CSRF  string
	token string
}

type viewerKey struct{}

// page is what every template gets.
type page struct {
	Title string
	Nav   string
	V     *viewer
	Flash string
	Data  any
}

func newDashboard() (*dashboard, error) {
	funcs := template.FuncMap{
		"since": since, "datetime": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") },
		"short":   func(s string) string { return shortText(s, 10) },
		"version": func(v int) string { return fmt.Sprintf("v%d", v) },
	}
	names, err := fs.Glob(dashboardFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	d := &dashboard{pages: map[string]*template.Template{}, limiter: newLoginLimiter(5, 5*time.Minute)}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(dashboardFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", n, err)
		}
		d.pages[name] = t
	}
	return d, nil
}

// dashboardRoutes registers the HTML pages at the root. Every page but
// /login and /static requires a session; every POST a CSRF token.
func (s *server) dashboardRoutes(r chi.Router) {
	d, err := newDashboard()
	if err != nil {
		panic("web: dashboard templates: " + err.Error()) // embedded: a build-time bug
	}
	s.dash = d
	static, _ := fs.Sub(dashboardFS, "static")
	r.Handle("/static/*", http.StripPrefix("/static/", staticFiles(static)))
	r.Get("/login", s.loginPage)
	r.Post("/login", s.login)
	r.Group(func(r chi.Router) {
		r.Use(s.requireSession, s.checkCSRF, s.appAccess)
		r.Post("/logout", s.logout)
		r.Get("/", s.appsPage)
		r.Get("/apps/new", s.newAppPage)
		r.Post("/apps", s.createAppForm)
		r.Get("/apps/{app}", s.appPage)
		r.Get("/apps/{app}/logs/stream", s.logStream)
		r.Post("/apps/{app}/scale", s.scaleForm)
		r.Post("/apps/{app}/rollback", s.rollbackForm)
		r.Post("/apps/{app}/config", s.configForm)
		r.Get("/keys", s.keysPage)
		r.Post("/keys", s.addKeyForm)
		r.Post("/keys/{name}/remove", s.removeKeyForm)
		r.Get("/users", s.usersPage)
		r.Post("/users", s.addUserForm)
		r.Post("/users/access", s.accessForm)
	})
}

func staticFiles(root fs.FS) http.Handler {
	h := http.FileServerFS(root)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}

// requireSession sends anonymous requests to /login.
func (s *server) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.sessionViewer(r)
		if err != nil {
			if wharf.ErrorCode(err) != wharf.EUNAUTHORIZED {
				s.htmlError(w, r, err)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), viewerKey{}, v)))
	})
}

func (s *server) sessionViewer(r *http.Request) (*viewer, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, wharf.Errorf(wharf.EUNAUTHORIZED, "not logged in")
	}
	sess, err := s.svc.Session(r.Context(), c.Value)
	if err != nil {
		return nil, err
	}
	u, err := s.svc.User(r.Context(), sess.User)
	if wharf.ErrorCode(err) == wharf.ENOTFOUND {
		return nil, wharf.Errorf(wharf.EUNAUTHORIZED, "not logged in")
	}
	if err != nil {
		return nil, err
	}
	return &viewer{User: u, CSRF: sess.CSRF, token: c.Value}, nil
}

// checkCSRF refuses a POST whose form lacks the session's CSRF token.
func (s *server) checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
			if !sameToken(r.PostFormValue("csrf"), viewerOf(r).CSRF) {
				s.htmlError(w, r, wharf.Errorf(wharf.EFORBIDDEN, "the form's security token is missing or stale: reload the page and try again"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// appAccess is the dashboard's side of the one authorization check.
func (s *server) appAccess(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Routes are matched after this middleware runs; find {app} by path.
		if app, ok := appInPath(r.URL.Path); ok {
			if err := s.svc.CanAccess(r.Context(), viewerOf(r).Name, app); err != nil {
				s.htmlError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// appInPath returns APP of /apps/APP[/...], except /apps/new.
func appInPath(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/apps/")
	if !ok {
		return "", false
	}
	app, _, _ := strings.Cut(rest, "/")
	return app, app != "" && app != "new"
}

func viewerOf(r *http.Request) *viewer {
	v, _ := r.Context().Value(viewerKey{}).(*viewer)
	if v == nil {
		return &viewer{}
	}
	return v
}

// render writes a page with security headers.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := s.dash.pages[name]
	if !ok {
		s.htmlError(w, r, fmt.Errorf("no template %q", name))
		return
	}
	if p.V == nil {
		p.V = viewerOf(r)
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", p); err != nil {
		s.log.ErrorContext(r.Context(), "rendering page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = fmt.Fprint(w, b.String())
}

// htmlError shows err on an error page with the status writeError would use.
func (s *server) htmlError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := errorStatus(err), wharf.ErrorMessage(err)
	if status == http.StatusInternalServerError {
		s.log.ErrorContext(r.Context(), "dashboard request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	s.render(w, r, status, "error", page{Title: http.StatusText(status), Data: msg})
}

func errorStatus(err error) int {
	switch wharf.ErrorCode(err) {
	case wharf.EINVALID:
		return http.StatusBadRequest
	case wharf.ENOTFOUND:
		return http.StatusNotFound
	case wharf.ECONFLICT:
		return http.StatusConflict
	case wharf.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case wharf.EFORBIDDEN:
		return http.StatusForbidden
	case wharf.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func since(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t).Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

func shortText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
