package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/deploy"
	"github.com/wharfhq/wharf/store"
	"github.com/wharfhq/wharf/web"
)

// sessionTTL is how long a dashboard login lasts.
const sessionTTL = 7 * 24 * time.Hour

// Logs returns an app's stored output.
func (p *platform) Logs(ctx context.Context, app string, q web.LogQuery) ([]web.LogLine, error) {
	if _, err := p.db.GetApp(ctx, app); err != nil {
		return nil, err
	}
	lines, err := p.db.Logs(ctx, store.LogQuery{App: app, Process: q.Process, AfterID: q.AfterID, Limit: q.Limit})
	if err != nil {
		return nil, err
	}
	out := make([]web.LogLine, len(lines))
	for i, l := range lines {
		out[i] = web.LogLine{ID: l.ID, Process: l.Process, Time: l.Time, Line: l.Line}
	}
	return out, nil
}

// Activity returns events, newest first.
func (p *platform) Activity(ctx context.Context, app string, limit int) ([]web.Event, error) {
	events, err := p.db.ListEvents(ctx, app, limit)
	if err != nil {
		return nil, err
	}
	out := make([]web.Event, len(events))
	for i, e := range events {
		out[i] = web.Event{App: e.App, Actor: e.Actor, Kind: e.Kind, Message: e.Message, Time: e.CreatedAt}
	}
	return out, nil
}

// RecentBuilds returns the newest builds of app, with their output.
func (p *platform) RecentBuilds(ctx context.Context, app string, limit int) ([]wharf.Build, error) {
	builds, err := p.db.ListBuilds(ctx, app)
	if len(builds) > limit {
		builds = builds[:limit]
	}
	return builds, err
}

func (p *platform) User(ctx context.Context, name string) (web.User, error) {
	u, err := p.db.GetUser(ctx, name)
	return web.User{Name: u.Name, Role: u.Role, Apps: u.Apps}, err
}

func (p *platform) ListUsers(ctx context.Context) ([]web.User, error) {
	users, err := p.db.ListUsers(ctx)
	out := make([]web.User, len(users))
	for i, u := range users {
		out[i] = web.User{Name: u.Name, Role: u.Role, Apps: u.Apps}
	}
	return out, err
}

// AddUser creates a user with a password and a first API token.
func (p *platform) AddUser(ctx context.Context, actor, name, role, password string) (string, error) {
	hash, err := hashPassword(password)
	if err != nil {
		return "", err
	}
	if _, err := p.db.CreateUser(ctx, name, role, hash, false); err != nil {
		return "", err
	}
	token := "wharf_" + randomID() + randomID()
	if err := p.db.AddToken(ctx, "user:"+name, name, hashToken(token)); err != nil {
		return "", fmt.Errorf("storing the token of %s: %w", name, err)
	}
	p.event(ctx, "", actor, "user.add", fmt.Sprintf("added user %s (%s)", name, role))
	return token, nil
}

func (p *platform) SetPassword(ctx context.Context, actor, name, password string) error {
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	if err := p.db.SetPassword(ctx, name, hash); err != nil {
		return err
	}
	p.event(ctx, "", actor, "user.passwd", "changed the password of "+name)
	return nil
}

func (p *platform) Grant(ctx context.Context, actor, app, user string) error {
	if err := p.db.Grant(ctx, user, app); err != nil {
		return err
	}
	p.event(ctx, app, actor, "access.add", "gave "+user+" access to "+app)
	return nil
}

func (p *platform) Revoke(ctx context.Context, actor, app, user string) error {
	if err := p.db.Revoke(ctx, user, app); err != nil {
		return err
	}
	p.event(ctx, app, actor, "access.remove", "took access to "+app+" from "+user)
	return nil
}

// CanAccess: admins reach every app, members only those granted to them.
func (p *platform) CanAccess(ctx context.Context, user, app string) error {
	u, err := p.db.GetUser(ctx, user)
	if wharf.ErrorCode(err) == wharf.ENOTFOUND {
		return wharf.Errorf(wharf.EFORBIDDEN, "user %q does not exist any more", user)
	}
	if err != nil {
		return err
	}
	if u.Role == store.RoleAdmin {
		return nil
	}
	for _, a := range u.Apps {
		if a == app {
			return nil
		}
	}
	return wharf.Errorf(wharf.EFORBIDDEN, "you (%s) have no access to app %q: ask an admin to run 'wharf access:add -a %s %s'", user, app, app, user)
}

// dummyHash makes a login of an unknown user cost as much as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("wharf-dummy-password"), bcrypt.DefaultCost)

func (p *platform) Login(ctx context.Context, name, password string) (web.User, error) {
	bad := wharf.Errorf(wharf.EUNAUTHORIZED, "wrong user name or password")
	u, err := p.db.GetUser(ctx, name)
	if wharf.ErrorCode(err) == wharf.ENOTFOUND || (err == nil && u.PasswordHash == "") {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return web.User{}, bad
	}
	if err != nil {
		return web.User{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return web.User{}, bad
	}
	return web.User{Name: u.Name, Role: u.Role, Apps: u.Apps}, nil
}

func (p *platform) CreateSession(ctx context.Context, user string) (web.Session, error) {
	s := web.Session{Token: randomID() + randomID(), User: user, CSRF: randomID()}
	return s, p.db.CreateSession(ctx, hashToken(s.Token), user, s.CSRF, sessionTTL)
}

func (p *platform) Session(ctx context.Context, token string) (web.Session, error) {
	if _, err := hex.DecodeString(token); err != nil || token == "" {
		return web.Session{}, wharf.Errorf(wharf.EUNAUTHORIZED, "not logged in")
	}
	s, err := p.db.SessionByHash(ctx, hashToken(token))
	return web.Session{Token: token, User: s.User, CSRF: s.CSRF}, err
}

func (p *platform) EndSession(ctx context.Context, token string) error {
	return p.db.DeleteSession(ctx, hashToken(token))
}

// hashPassword checks a new password's length and bcrypts it.
func hashPassword(password string) (string, error) {
	if n := utf8.RuneCountInString(password); n < 8 || len(password) > 72 {
		return "", wharf.Errorf(wharf.EINVALID, "a password needs 8 to 72 bytes (at least 8 characters)")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hashing the password: %w", err)
	}
	return string(h), nil
}

// recordCrash puts a crash the reconcile loop saw into the app's activity
// feed. It runs on the loop's goroutine, so the write gets its own bounded
// context and never blocks the loop for long.
func (p *platform) recordCrash(c deploy.Crash) {
	what := fmt.Sprintf("%s of v%d exited with code %d", c.Process, c.Release, c.ExitCode)
	if c.OOMKilled {
		what += " (out of memory)"
	}
	if c.CrashLooping {
		what += "; crashed repeatedly, retrying every " + c.RestartIn.Round(time.Second).String()
	} else {
		what += "; restarting in " + c.RestartIn.Round(100*time.Millisecond).String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.event(ctx, c.App, "wharf", "crash", what)
}
