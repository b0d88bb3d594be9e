package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/wharfhq/wharf"
)

// ActivityService is what the API routes for logs, activity, users and access (issue 6) need from the daemon.
type ActivityService interface {
	// Logs returns an app's stored output lines, oldest first.
	Logs(ctx context.Context, app string, q LogQuery) ([]LogLine, error)
	// Activity returns up to limit events, newest first, of app or of all apps ("").
	Activity(ctx context.Context, app string, limit int) ([]Event, error)
	// RecentBuilds returns the app's newest limit builds with their output.
	RecentBuilds(ctx context.Context, app string, limit int) ([]wharf.Build, error)

	// User returns a user with its role and granted apps; ENOTFOUND when none.
	User(ctx context.Context, name string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	// AddUser creates a user and returns a new API token for it.
	AddUser(ctx context.Context, actor, name, role, password string) (token string, err error)
	SetPassword(ctx context.Context, actor, name, password string) error
	Grant(ctx context.Context, actor, app, user string) error
	Revoke(ctx context.Context, actor, app, user string) error
	// CanAccess returns nil when user may see and change app, else an
	// EFORBIDDEN (or ENOTFOUND) error. The API, the dashboard and SSH all
	// ask it.
	CanAccess(ctx context.Context, user, app string) error

	// Login checks a password; EUNAUTHORIZED when it or the user is wrong.
	Login(ctx context.Context, name, password string) (User, error)
	// CreateSession starts a dashboard session for user.
	CreateSession(ctx context.Context, user string) (Session, error)
	// Session returns the live session of a cookie token; EUNAUTHORIZED when none.
	Session(ctx context.Context, token string) (Session, error)
	EndSession(ctx context.Context, token string) error
}

// LogQuery selects log lines.
type LogQuery struct {
	Process string // "web" or "web.1"; "" for all
	AfterID int64  // only lines newer than this id
	Limit   int    // the newest Limit lines
}

// LogLine is one line of an app's output.
type LogLine struct {
	ID      int64     `json:"id"`
	Process string    `json:"process"` // e.g. web.1
	Time    time.Time `json:"time"`
	Line    string    `json:"line"`
}

// Event is one line of the activity feed.
type Event struct {
	App     string    `json:"app,omitempty"`
	Actor   string    `json:"actor"`
	Kind    string    `json:"kind"`
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
}

// User is a person with a role: admin (everything) or member (granted apps).
type User struct {
	Name string   `json:"name"`
	Role string   `json:"role"`
	Apps []string `json:"apps"`
}

// Admin reports whether u may do everything.
func (u User) Admin() bool { return u.Role == "admin" }

// Session is a dashboard login: Token goes in the cookie, CSRF in forms.
type Session struct {
	Token string
	User  string
	CSRF  string
}

// activityRoutes registers the API routes for logs, activity, users and access (issue 6).
func (s *server) activityRoutes(r chi.Router) {
	r.Get("/apps/{app}/logs", s.api(s.logs))
	r.Get("/apps/{app}/activity", s.api(s.appActivity))
	r.Get("/activity", s.api(s.activity))
	r.Get("/user", s.api(s.whoami))
	r.Get("/users", s.api(s.admin(s.listUsers)))
	r.Post("/users", s.api(s.admin(s.addUser)))
	r.Put("/users/{name}/password", s.api(s.setPassword))
	r.Put("/apps/{app}/access/{name}", s.api(s.admin(s.grant)))
	r.Delete("/apps/{app}/access/{name}", s.api(s.admin(s.revoke)))
}

// logs answers GET /apps/{app}/logs?n=&process=&after=&follow=1: a JSON array, or
// with follow=1 a stream of JSON lines (one LogLine each) until the client
// goes away.
func (s *server) logs(w http.ResponseWriter, r *http.Request, _ string) error {
	app := chi.URLParam(r, "app")
	q, err := logQuery(r)
	if err != nil {
		return err
	}
	lines, err := s.svc.Logs(r.Context(), app, q)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("follow") == "" {
		if lines == nil {
			lines = []LogLine{}
		}
		writeJSON(w, http.StatusOK, lines)
		return nil
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	enc := json.NewEncoder(w)
	return s.followLogs(r.Context(), w, app, q, lines, func(l LogLine) error { return enc.Encode(l) })
}

func logQuery(r *http.Request) (LogQuery, error) {
	q := LogQuery{Process: r.URL.Query().Get("process"), Limit: 100}
	if n := r.URL.Query().Get("n"); n != "" {
		v, err := strconv.Atoi(n)
		if err != nil || v <= 0 || v > 100000 {
			return q, wharf.Errorf(wharf.EINVALID, "invalid n=%q: want a number of lines from 1 to 100000", n)
		}
		q.Limit = v
	}
	if a := r.URL.Query().Get("after"); a != "" {
		v, err := strconv.ParseInt(a, 10, 64)
		if err != nil || v < 0 {
			return q, wharf.Errorf(wharf.EINVALID, "invalid after=%q: want a line id", a)
		}
		q.AfterID = v
	}
	return q, nil
}

// followLogs writes first, then every newer line as it is stored, until ctx
// ends. Errors after the first write can only be logged.
func (s *server) followLogs(ctx context.Context, w http.ResponseWriter, app string, q LogQuery, first []LogLine, emit func(LogLine) error) error {
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	closing := s.dash.streams.closing(ctx)
	lines := first
	for {
		for _, l := range lines {
			if err := emit(l); err != nil {
				return nil
			}
			q.AfterID = l.ID
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-closing: // the server shuts down: let it
			return nil
		case <-tick.C:
		}
		q.Limit = 1000
		var err error
		if lines, err = s.svc.Logs(ctx, app, q); err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "following logs", "app", app, "err", err)
			}
			return nil
		}
	}
}

// appActivity answers GET /apps/{app}/activity?n=.
func (s *server) appActivity(w http.ResponseWriter, r *http.Request, _ string) error {
	return s.writeActivity(w, r, chi.URLParam(r, "app"), nil)
}

// activity answers GET /activity?n=: everything for admins, granted apps
// for members.
func (s *server) activity(w http.ResponseWriter, r *http.Request, user string) error {
	u, err := s.svc.User(r.Context(), user)
	if err != nil {
		return err
	}
	return s.writeActivity(w, r, "", &u)
}

func (s *server) writeActivity(w http.ResponseWriter, r *http.Request, app string, only *User) error {
	n := 100
	if v, err := strconv.Atoi(r.URL.Query().Get("n")); err == nil && v > 0 && v <= 10000 {
		n = v
	}
	events, err := s.svc.Activity(r.Context(), app, n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, visibleEvents(events, only))
	return nil
}

// visibleEvents keeps the events a member may see: those of granted apps.
func visibleEvents(events []Event, u *User) []Event {
	out := []Event{}
	for _, e := range events {
		if u == nil || u.Admin() || (e.App != "" && contains(u.Apps, e.App)) {
			out = append(out, e)
		}
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// streamStops ends long-lived responses (followed logs, server-sent events)
// when their http.Server shuts down, which waits for every response.
type streamStops struct {
	mu      sync.Mutex
	servers map[*http.Server]chan struct{}
}

// closing returns a channel closed when the server of ctx's request starts
// shutting down; nil (never ready) outside an http.Server.
func (st *streamStops) closing(ctx context.Context) <-chan struct{} {
	srv, _ := ctx.Value(http.ServerContextKey).(*http.Server)
	if srv == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if ch, ok := st.servers[srv]; ok {
		return ch
	}
	if st.servers == nil {
		st.servers = map[*http.Server]chan struct{}{}
	}
	ch := make(chan struct{})
	st.servers[srv] = ch
	srv.RegisterOnShutdown(func() { close(ch) })
	return ch
}
