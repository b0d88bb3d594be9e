// Package webtest provides an in-memory web.Service for tests of the HTTP
// API and of its clients (the CLI), where the daemon's real service would
// need Docker and Postgres.
package webtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/web"
	"golang.org/x/crypto/ssh"
)

// Token is the API token of User; AddUser's users get tokens of their own.
const (
	Token = "test-token"
	User  = "admin"
)

// Fake is an in-memory web.Service. The zero value is not usable; call New.
type Fake struct {
	mu        sync.Mutex
	nextID    int64
	apps      map[string]*web.AppInfo
	keys      map[string]wharf.Key
	readyErr  error
	before    func(method string) error
	destroyed []string
	domains   domainState // issue 4, in domains.go
	rels      relState    // issue 3, in releases.go
	act       activity    // issue 6, in activity.go
	nodes     nodeState   // swarm nodes and placement, in nodes.go

	builds      []wharf.Build  // issue 5, in builds.go
	cachePurges map[string]int // issue 5, in builds.go
}

var _ web.Service = (*Fake)(nil)

// New returns an empty, ready Fake that accepts Token.
func New() *Fake {
	return &Fake{apps: map[string]*web.AppInfo{}, keys: map[string]wharf.Key{}}
}

// SetReady sets what Ready returns.
func (f *Fake) SetReady(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readyErr = err
}

// SetBefore installs a hook run at the start of every method but Ready and
// Authenticate, with the method's name. A non-nil error is returned by the
// method; the hook may also panic.
func (f *Fake) SetBefore(hook func(method string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.before = hook
}

// Deploy gives an existing app a release and processes, as a push would.
func (f *Fake) Deploy(app string, rel wharf.Release, ps []wharf.Process) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[app]
	if !ok {
		panic("webtest: Deploy of an app that was never created: " + app)
	}
	rel.App = app
	a.Release = &rel
	a.Processes = slices.Clone(ps)
}

// Destroyed returns the names of apps destroyed so far.
func (f *Fake) Destroyed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.destroyed)
}

func (f *Fake) hook(method string) error {
	f.mu.Lock()
	h := f.before
	f.mu.Unlock()
	if h == nil {
		return nil
	}
	return h(method)
}

// Ready implements web.Service.
func (f *Fake) Ready(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readyErr
}

// Authenticate implements web.Service: Token is User's, and the token
// AddUser returned is its user's.
func (f *Fake) Authenticate(_ context.Context, token string) (string, error) {
	if token == Token {
		return User, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if name, ok := strings.CutPrefix(token, "token-of-"); ok && f.act.users[name] != nil {
		return name, nil
	}
	return "", wharf.Errorf(wharf.EUNAUTHORIZED, "invalid API token")
}

// ListApps implements web.Service, sorted by name.
func (f *Fake) ListApps(context.Context) ([]web.AppInfo, error) {
	if err := f.hook("ListApps"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []web.AppInfo
	for _, a := range f.apps {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b web.AppInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// CreateApp implements web.Service.
func (f *Fake) CreateApp(_ context.Context, _, name string) (wharf.App, error) {
	if err := f.hook("CreateApp"); err != nil {
		return wharf.App{}, err
	}
	if err := wharf.ValidateAppName(name); err != nil {
		return wharf.App{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[name]; ok {
		return wharf.App{}, wharf.Errorf(wharf.ECONFLICT, "app %q already exists", name)
	}
	f.nextID++
	app := wharf.App{ID: f.nextID, Name: name, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	f.apps[name] = &web.AppInfo{
		App:       app,
		URL:       fmt.Sprintf("http://%s.localhost:8080", name),
		GitRemote: fmt.Sprintf("ssh://git@127.0.0.1:2222/%s.git", name),
	}
	return app, nil
}

// AppInfo implements web.Service.
func (f *Fake) AppInfo(_ context.Context, name string) (web.AppInfo, error) {
	if err := f.hook("AppInfo"); err != nil {
		return web.AppInfo{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[name]
	if !ok {
		return web.AppInfo{}, wharf.Errorf(wharf.ENOTFOUND, "app %q not found", name)
	}
	return *a, nil
}

// DestroyApp implements web.Service.
func (f *Fake) DestroyApp(_ context.Context, _, name string) error {
	if err := f.hook("DestroyApp"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[name]; !ok {
		return wharf.Errorf(wharf.ENOTFOUND, "app %q not found", name)
	}
	delete(f.apps, name)
	f.destroyed = append(f.destroyed, name)
	return nil
}

// Processes implements web.Service.
func (f *Fake) Processes(_ context.Context, app string) ([]wharf.Process, error) {
	if err := f.hook("Processes"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[app]
	if !ok {
		return nil, wharf.Errorf(wharf.ENOTFOUND, "app %q not found", app)
	}
	return slices.Clone(a.Processes), nil
}

// ListKeys implements web.Service, sorted by name.
func (f *Fake) ListKeys(context.Context) ([]wharf.Key, error) {
	if err := f.hook("ListKeys"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []wharf.Key
	for _, k := range f.keys {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b wharf.Key) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// AddKey implements web.Service: it parses the key like the daemon does
// and refuses a name or a key already present.
func (f *Fake) AddKey(_ context.Context, user, name, publicKey string) (wharf.Key, error) {
	if err := f.hook("AddKey"); err != nil {
		return wharf.Key{}, err
	}
	if err := wharf.ValidateKeyName(name); err != nil {
		return wharf.Key{}, err
	}
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(publicKey))
	if err != nil {
		return wharf.Key{}, wharf.Errorf(wharf.EINVALID, "invalid SSH public key: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fp := ssh.FingerprintSHA256(pk)
	for _, k := range f.keys {
		if k.Name == name || k.Fingerprint == fp {
			return wharf.Key{}, wharf.Errorf(wharf.ECONFLICT, "key %s is already added as %q", fp, k.Name)
		}
	}
	f.nextID++
	k := wharf.Key{ID: f.nextID, Name: name, Owner: user, Fingerprint: fp,
		PublicKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))), CreatedAt: time.Now().UTC().Truncate(time.Second)}
	f.keys[name] = k
	return k, nil
}

// RemoveKey implements web.Service.
func (f *Fake) RemoveKey(_ context.Context, _, name string) error {
	if err := f.hook("RemoveKey"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.keys[name]; !ok {
		return wharf.Errorf(wharf.ENOTFOUND, "key %q not found", name)
	}
	delete(f.keys, name)
	return nil
}
