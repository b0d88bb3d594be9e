package webtest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/web"
)

// domainState is the fake's custom domains and router logs.
type domainState struct {
	hosts  map[string]web.Domain        // hostname → domain
	logs   map[string][]json.RawMessage // app → entries, oldest first
	certs  map[string][]web.Certificate // app → certificates
	router map[string]wharf.RouterSettings
}

// ListCertificates implements web.Service.
func (f *Fake) ListCertificates(_ context.Context, app string) ([]web.Certificate, error) {
	if err := f.hook("ListCertificates"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return nil, wharf.Errorf(wharf.ENOTFOUND, "app %q not found", app)
	}
	return slices.Clone(f.domains.certs[app]), nil
}

// AddCertificate implements web.Service: it checks the pair like the
// daemon, not the names.
func (f *Fake) AddCertificate(_ context.Context, _, app, certPEM, keyPEM string) (web.Certificate, error) {
	if err := f.hook("AddCertificate"); err != nil {
		return web.Certificate{}, err
	}
	pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return web.Certificate{}, wharf.Errorf(wharf.EINVALID, "not a certificate and its key: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return web.Certificate{}, wharf.Errorf(wharf.ENOTFOUND, "app %q not found", app)
	}
	c := web.Certificate{App: app, Names: pair.Leaf.DNSNames, NotAfter: pair.Leaf.NotAfter, CreatedAt: time.Now().UTC()}
	if f.domains.certs == nil {
		f.domains.certs = map[string][]web.Certificate{}
	}
	f.domains.certs[app] = append(f.domains.certs[app], c)
	return c, nil
}

// AddRouterLog appends an access-log entry for app.
func (f *Fake) AddRouterLog(app string, entry json.RawMessage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.domains.logs == nil {
		f.domains.logs = map[string][]json.RawMessage{}
	}
	f.domains.logs[app] = append(f.domains.logs[app], entry)
}

// ListDomains implements web.Service, sorted by hostname.
func (f *Fake) ListDomains(_ context.Context, app string) ([]web.Domain, error) {
	if err := f.hook("ListDomains"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return nil, wharf.Errorf(wharf.ENOTFOUND, "app %q not found", app)
	}
	var out []web.Domain
	for _, d := range f.domains.hosts {
		if d.App == app {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b web.Domain) int { return strings.Compare(a.Hostname, b.Hostname) })
	return out, nil
}

// AddDomain implements web.Service with the daemon's conflict message; it
// only lowercases the hostname.
func (f *Fake) AddDomain(_ context.Context, _, app, hostname string) (web.Domain, error) {
	if err := f.hook("AddDomain"); err != nil {
		return web.Domain{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return web.Domain{}, wharf.Errorf(wharf.ENOTFOUND, "app %q not found", app)
	}
	host := strings.ToLower(hostname)
	if d, ok := f.domains.hosts[host]; ok {
		return web.Domain{}, wharf.Errorf(wharf.ECONFLICT, "domain %s belongs to app %s; remove it there first (wharf domains:remove -a %s %s)", host, d.App, d.App, host)
	}
	if f.domains.hosts == nil {
		f.domains.hosts = map[string]web.Domain{}
	}
	d := web.Domain{App: app, Hostname: host, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	f.domains.hosts[host] = d
	return d, nil
}

// RemoveDomain implements web.Service.
func (f *Fake) RemoveDomain(_ context.Context, _, app, hostname string) error {
	if err := f.hook("RemoveDomain"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	host := strings.ToLower(hostname)
	if d, ok := f.domains.hosts[host]; !ok || d.App != app {
		return wharf.Errorf(wharf.ENOTFOUND, "app %s has no domain %s (see wharf domains -a %s)", app, host, app)
	}
	delete(f.domains.hosts, host)
	return nil
}

// RouterLogs implements web.Service.
func (f *Fake) RouterLogs(_ context.Context, app string, n int) ([]json.RawMessage, error) {
	if err := f.hook("RouterLogs"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return nil, wharf.Errorf(wharf.ENOTFOUND, "app %q not found", app)
	}
	logs := f.domains.logs[app]
	return slices.Clone(logs[max(0, len(logs)-n):]), nil
}

// SetRedirectHTTPS implements web.Service.
func (f *Fake) SetRedirectHTTPS(_ context.Context, _, app string, on bool) error {
	if err := f.hook("SetRedirectHTTPS"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return wharf.Errorf(wharf.ENOTFOUND, "app %q not found", app)
	}
	return nil
}

// routerDefaults are the fake router's defaults, the real router's.
var routerDefaults = wharf.RouterSettings{BodyLimit: 100 << 20, Timeout: time.Minute}

// RouterSettings implements web.Service.
func (f *Fake) RouterSettings(_ context.Context, app string) (web.RouterSettings, error) {
	if err := f.hook("RouterSettings"); err != nil {
		return web.RouterSettings{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return web.RouterSettings{}, wharf.Errorf(wharf.ENOTFOUND, "app %q not found", app)
	}
	return web.NewRouterSettings(app, f.domains.router[app], routerDefaults), nil
}

// SetRouterSettings implements web.Service, validating like the daemon.
func (f *Fake) SetRouterSettings(_ context.Context, _, app string, set map[string]string) (web.RouterSettings, error) {
	if err := f.hook("SetRouterSettings"); err != nil {
		return web.RouterSettings{}, err
	}
	c, err := wharf.ParseRouterChange(set)
	if err != nil {
		return web.RouterSettings{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return web.RouterSettings{}, wharf.Errorf(wharf.ENOTFOUND, "app %q not found", app)
	}
	if f.domains.router == nil {
		f.domains.router = map[string]wharf.RouterSettings{}
	}
	s := f.domains.router[app].Apply(c)
	f.domains.router[app] = s
	return web.NewRouterSettings(app, s, routerDefaults), nil
}
