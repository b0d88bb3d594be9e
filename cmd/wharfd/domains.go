package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/router"
	"github.com/wharfhq/wharf/store"
	"github.com/wharfhq/wharf/web"
)

// ListDomains returns app's custom domains.
func (p *platform) ListDomains(ctx context.Context, app string) ([]web.Domain, error) {
	ds, err := p.db.ListDomains(ctx, app)
	if err != nil {
		return nil, err
	}
	out := make([]web.Domain, len(ds))
	for i, d := range ds {
		out[i] = web.Domain(d)
	}
	return out, nil
}

// AddDomain routes hostname to app. A name that is another app's default
// host (<other>.<domain>) is refused like a domain owned by that app.
func (p *platform) AddDomain(ctx context.Context, user, app, hostname string) (web.Domain, error) {
	host, err := store.NormalizeHostname(hostname)
	if err != nil {
		return web.Domain{}, err
	}
	if label, ok := strings.CutSuffix(host, "."+p.cfg.Domain); ok && !strings.Contains(label, ".") {
		if _, err := p.db.GetApp(ctx, label); err == nil {
			return web.Domain{}, wharf.Errorf(wharf.ECONFLICT, "domain %s is the default domain of app %s", host, label)
		}
	}
	d, err := p.db.AddDomain(ctx, app, host)
	if err != nil {
		return web.Domain{}, err
	}
	p.event(ctx, app, user, "domain.add", "added domain "+d.Hostname)
	return web.Domain(d), nil
}

// RemoveDomain takes hostname away from app.
func (p *platform) RemoveDomain(ctx context.Context, user, app, hostname string) error {
	if err := p.db.RemoveDomain(ctx, app, hostname); err != nil {
		return err
	}
	p.event(ctx, app, user, "domain.remove", "removed domain "+strings.ToLower(hostname))
	return nil
}

// RouterLogs returns app's newest n access-log entries.
func (p *platform) RouterLogs(ctx context.Context, app string, n int) ([]json.RawMessage, error) {
	if _, err := p.db.GetApp(ctx, app); err != nil {
		return nil, err
	}
	return p.db.RouterLogs(ctx, app, n)
}

// routeStore is what loadRoutes reads.
type routeStore interface {
	ListApps(ctx context.Context) ([]wharf.App, error)
	AllProcesses(ctx context.Context) ([]wharf.Process, error)
	AllDomains(ctx context.Context) ([]store.Domain, error)
	AllCertificates(ctx context.Context) ([]store.Certificate, error)
	RedirectHTTPS(ctx context.Context) (map[string]bool, error)
	AllRouterSettings(ctx context.Context) (map[string]wharf.RouterSettings, error)
}

// loadRoutes is the router's view of the database: each app's default host
// <app>.<domain> and custom domains, and the addresses of its running web
// processes. Both the daemon and `wharfd router` use it.
func loadRoutes(ctx context.Context, db routeStore, domain string) ([]router.Route, error) {
	apps, err := db.ListApps(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing apps: %w", err)
	}
	procs, err := db.AllProcesses(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	domains, err := db.AllDomains(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing domains: %w", err)
	}
	backends := map[string][]string{}
	for _, pr := range procs {
		if pr.Type == "web" && pr.State == "running" && pr.Addr != "" {
			backends[pr.App] = append(backends[pr.App], pr.Addr)
		}
	}
	hosts := map[string][]string{}
	for _, d := range domains {
		hosts[d.App] = append(hosts[d.App], d.Hostname)
	}
	certs, err := db.AllCertificates(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing certificates: %w", err)
	}
	redirect, err := db.RedirectHTTPS(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing HTTPS redirects: %w", err)
	}
	settings, err := db.AllRouterSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing router settings: %w", err)
	}
	appCerts := map[string][]router.Certificate{}
	for _, c := range certs {
		appCerts[c.App] = append(appCerts[c.App], router.Certificate{CertPEM: c.CertPEM, KeyPEM: c.KeyPEM})
	}
	routes := make([]router.Route, 0, len(apps))
	for _, a := range apps {
		h := append([]string{a.Name + "." + domain}, hosts[a.Name]...)
		s := settings[a.Name]
		routes = append(routes, router.Route{App: a.Name, Hosts: h, Backends: backends[a.Name], Certificates: appCerts[a.Name],
			RedirectHTTPS: redirect[a.Name], MaxBodyBytes: s.BodyLimit, Timeout: s.Timeout})
	}
	return routes, nil
}
