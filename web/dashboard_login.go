package web

import (
	"crypto/rand"
	"crypto/subtle"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/wharfhq/wharf"
)

// loginLimiter refuses logins from a client address after max failures for
// one user name, or 4×max for any, within window. Keyed by address, so
// nobody can lock a user out from elsewhere.
type loginLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	fails  map[string][]time.Time
}

func newLoginLimiter(max int, window time.Duration) *loginLimiter {
	return &loginLimiter{max: max, window: window, fails: map[string][]time.Time{}}
}

// limiterKeys returns the limiter's keys for a login attempt: address, address+user.
func limiterKeys(addr, user string) [2]string {
	return [2]string{"addr:" + addr, "addr+user:" + addr + "\x00" + user}
}

// allowed reports whether the attempt is under both limits.
func (l *loginLimiter) allowed(now time.Time, keys [2]string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(now, keys[0])) < 4*l.max && len(l.recent(now, keys[1])) < l.max
}

// fail records a failed login.
func (l *loginLimiter) fail(now time.Time, keys [2]string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) > 10000 { // bound memory under a spray of names
		clear(l.fails)
	}
	for _, k := range keys {
		l.fails[k] = append(l.recent(now, k), now)
	}
}

// recent drops failures older than the window. l.mu held.
func (l *loginLimiter) recent(now time.Time, key string) []time.Time {
	ts := l.fails[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) > l.window {
		i++
	}
	if i == len(ts) {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = ts[i:]
	return ts[i:]
}

type loginData struct {
	CSRF, Name, Error string
}

// loginPage shows the form with a fresh CSRF token in a cookie and a field.
func (s *server) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, err := s.sessionViewer(r); err == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.renderLogin(w, r, http.StatusOK, loginData{})
}

func (s *server) renderLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	d.CSRF = rand.Text()
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: d.CSRF, Path: "/login", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: 3600})
	s.render(w, r, status, "login", page{Title: "Log in", Data: d})
}

// login checks the CSRF token, the rate limit and the password, then starts
// a session.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	name, password := r.PostFormValue("username"), r.PostFormValue("password")
	c, err := r.Cookie(loginCSRFCookie)
	if err != nil || !sameToken(r.PostFormValue("csrf"), c.Value) {
		s.htmlError(w, r, wharf.Errorf(wharf.EFORBIDDEN, "the login form's security token is missing or stale: reload the page and try again"))
		return
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	keys := limiterKeys(host, name)
	now := time.Now()
	if !s.dash.limiter.allowed(now, keys) {
		s.renderLogin(w, r, http.StatusTooManyRequests, loginData{Name: name, Error: "Too many failed logins: wait a few minutes and try again."})
		return
	}
	u, err := s.svc.Login(r.Context(), name, password)
	if err != nil {
		if wharf.ErrorCode(err) != wharf.EUNAUTHORIZED {
			s.htmlError(w, r, err)
			return
		}
		s.dash.limiter.fail(now, keys)
		s.renderLogin(w, r, http.StatusUnauthorized, loginData{Name: name, Error: "Wrong user name or password."})
		return
	}
	sess, err := s.svc.CreateSession(r.Context(), u.Name)
	if err != nil {
		s.htmlError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sess.Token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, MaxAge: int((7 * 24 * time.Hour).Seconds())})
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Path: "/login", MaxAge: -1})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the session.
func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.EndSession(r.Context(), viewerOf(r).token); err != nil {
		s.htmlError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// sameToken compares tokens in constant time; empty never matches.
func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
