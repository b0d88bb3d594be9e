package webtest

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/web"
)

// Password is the fake's password of User (an admin).
const Password = "test-password"

// activity is the fake's state for logs, users and sessions; zero is empty.
type activity struct {
	logs     map[string][]web.LogLine
	events   []web.Event
	users    map[string]*fakeUser
	sessions map[string]web.Session
	nextLog  int64
}

type fakeUser struct {
	web.User
	password string
}

// user returns the named user; User always exists as an admin. f.mu held.
func (f *Fake) user(name string) (*fakeUser, bool) {
	if f.act.users == nil {
		f.act.users = map[string]*fakeUser{User: {User: web.User{Name: User, Role: "admin"}, password: Password}}
	}
	u, ok := f.act.users[name]
	return u, ok
}

// AddLog appends a line to an app's logs, as the collector would.
func (f *Fake) AddLog(app, process, line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.act.logs == nil {
		f.act.logs = map[string][]web.LogLine{}
	}
	f.act.nextLog++
	f.act.logs[app] = append(f.act.logs[app], web.LogLine{ID: f.act.nextLog, Process: process, Time: time.Now().UTC(), Line: line})
}

// AddEvent appends an event to the activity feed.
func (f *Fake) AddEvent(e web.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.act.events = append([]web.Event{e}, f.act.events...)
}

// Logs implements web.Service.
func (f *Fake) Logs(_ context.Context, app string, q web.LogQuery) ([]web.LogLine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return nil, wharf.Errorf(wharf.ENOTFOUND, "app %q not found", app)
	}
	var out []web.LogLine
	for _, l := range f.act.logs[app] {
		if l.ID > q.AfterID && (q.Process == "" || l.Process == q.Process || strings.HasPrefix(l.Process, q.Process+".")) {
			out = append(out, l)
		}
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[len(out)-q.Limit:]
	}
	return out, nil
}

// Activity implements web.Service.
func (f *Fake) Activity(_ context.Context, app string, limit int) ([]web.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []web.Event
	for _, e := range f.act.events {
		if (app == "" || e.App == app) && (limit <= 0 || len(out) < limit) {
			out = append(out, e)
		}
	}
	return out, nil
}

// RecentBuilds implements web.Service: the fake has no builds.
func (f *Fake) RecentBuilds(_ context.Context, app string, _ int) ([]wharf.Build, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return nil, wharf.Errorf(wharf.ENOTFOUND, "app %q not found", app)
	}
	return nil, nil
}

// User implements web.Service.
func (f *Fake) User(_ context.Context, name string) (web.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.user(name)
	if !ok {
		return web.User{}, wharf.Errorf(wharf.ENOTFOUND, "user %q not found", name)
	}
	out := u.User
	out.Apps = slices.Clone(u.Apps)
	return out, nil
}

// ListUsers implements web.Service.
func (f *Fake) ListUsers(context.Context) ([]web.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.user(User)
	var out []web.User
	for _, u := range f.act.users {
		out = append(out, u.User)
	}
	slices.SortFunc(out, func(a, b web.User) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// AddUser implements web.Service; Authenticate accepts the token it
// returns, "token-of-NAME".
func (f *Fake) AddUser(_ context.Context, _, name, role, password string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.user(name); ok {
		return "", wharf.Errorf(wharf.ECONFLICT, "user %q already exists", name)
	}
	if role != "admin" && role != "member" {
		return "", wharf.Errorf(wharf.EINVALID, "invalid role %q", role)
	}
	f.act.users[name] = &fakeUser{User: web.User{Name: name, Role: role}, password: password}
	return "token-of-" + name, nil
}

// SetPassword implements web.Service.
func (f *Fake) SetPassword(_ context.Context, _, name, password string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.user(name)
	if !ok {
		return wharf.Errorf(wharf.ENOTFOUND, "user %q not found", name)
	}
	u.password = password
	return nil
}

// Grant implements web.Service.
func (f *Fake) Grant(_ context.Context, _, app, user string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.user(user)
	if !ok {
		return wharf.Errorf(wharf.ENOTFOUND, "user %q not found", user)
	}
	if _, ok := f.apps[app]; !ok {
		return wharf.Errorf(wharf.ENOTFOUND, "app %q not found", app)
	}
	if !slices.Contains(u.Apps, app) {
		u.Apps = append(u.Apps, app)
	}
	return nil
}

// Revoke implements web.Service.
func (f *Fake) Revoke(_ context.Context, _, app, user string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.user(user)
	if !ok || !slices.Contains(u.Apps, app) {
		return wharf.Errorf(wharf.ENOTFOUND, "user %q has no access to app %q", user, app)
	}
	u.Apps = slices.DeleteFunc(u.Apps, func(a string) bool { return a == app })
	return nil
}

// CanAccess implements web.Service.
func (f *Fake) CanAccess(_ context.Context, user, app string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.user(user)
	if ok && (u.Role == "admin" || slices.Contains(u.Apps, app)) {
		return nil
	}
	return wharf.Errorf(wharf.EFORBIDDEN, "you (%s) have no access to app %q", user, app)
}

// Login implements web.Service.
func (f *Fake) Login(_ context.Context, name, password string) (web.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.user(name)
	if !ok || u.password != password {
		return web.User{}, wharf.Errorf(wharf.EUNAUTHORIZED, "wrong user name or password")
	}
	return u.User, nil
}

// CreateSession implements web.Service.
func (f *Fake) CreateSession(_ context.Context, user string) (web.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.act.sessions == nil {
		f.act.sessions = map[string]web.Session{}
	}
	f.nextID++
	id := strings.Repeat("ab", 8) + time.Now().Format("150405.000000000") + string(rune('a'+f.nextID%26))
	s := web.Session{Token: id, User: user, CSRF: "csrf-" + id}
	f.act.sessions[id] = s
	return s, nil
}

// Session implements web.Service.
func (f *Fake) Session(_ context.Context, token string) (web.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.act.sessions[token]
	if !ok {
		return web.Session{}, wharf.Errorf(wharf.EUNAUTHORIZED, "not logged in")
	}
	return s, nil
}

// EndSession implements web.Service.
func (f *Fake) EndSession(_ context.Context, token string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.act.sessions, token)
	return nil
}
