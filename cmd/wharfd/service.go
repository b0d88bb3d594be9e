package main

import (
	"context"
	"fmt"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/gitreceiver"
	"github.com/wharfhq/wharf/web"
)

// Ready reports whether the daemon takes pushes.
func (p *platform) Ready(ctx context.Context) error {
	if !p.ready.Load() {
		return wharf.Errorf(wharf.EUNAVAILABLE, "wharfd is starting or stopping")
	}
	if err := p.db.Ping(ctx); err != nil {
		return wharf.Errorf(wharf.EUNAVAILABLE, "database unavailable: %v", err)
	}
	return nil
}

// Authenticate maps an API token to its owner; only hashes are stored.
func (p *platform) Authenticate(ctx context.Context, token string) (string, error) {
	if token == "" {
		return "", wharf.Errorf(wharf.EUNAUTHORIZED, "missing API token")
	}
	return p.db.TokenOwner(ctx, hashToken(token))
}

func (p *platform) ListApps(ctx context.Context) ([]web.AppInfo, error) {
	apps, err := p.db.ListApps(ctx)
	if err != nil {
		return nil, err
	}
	infos := make([]web.AppInfo, 0, len(apps))
	for _, a := range apps {
		info, err := p.appInfo(ctx, a, false)
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	return infos, nil
}

func (p *platform) AppInfo(ctx context.Context, name string) (web.AppInfo, error) {
	a, err := p.db.GetApp(ctx, name)
	if err != nil {
		return web.AppInfo{}, err
	}
	return p.appInfo(ctx, a, true)
}

// appInfo describes an app; live asks the engine for process states, else
// the store's last record is used.
func (p *platform) appInfo(ctx context.Context, a wharf.App, live bool) (web.AppInfo, error) {
	info := web.AppInfo{App: a, URL: p.appURL(a.Name), GitRemote: p.gitRemote(a.Name), Processes: []wharf.Process{}}
	rel, err := p.db.CurrentRelease(ctx, a.Name)
	switch {
	case err == nil:
		info.Release = &rel
	case wharf.ErrorCode(err) != wharf.ENOTFOUND:
		return info, err
	}
	var procs []wharf.Process
	if live {
		procs, err = p.deployer.Processes(ctx, a.Name)
	} else {
		procs, err = p.db.ListProcesses(ctx, a.Name)
	}
	if err != nil {
		return info, fmt.Errorf("processes of %s: %w", a.Name, err)
	}
	if procs != nil {
		info.Processes = procs
	}
	return info, nil
}

func (p *platform) CreateApp(ctx context.Context, user, name string) (wharf.App, error) {
	a, err := p.db.CreateApp(ctx, name)
	if err != nil {
		return a, err
	}
	p.event(ctx, name, user, "app.create", "created app "+name)
	return a, nil
}

// DestroyApp removes everything of an app: containers and images first, then
// the repo, then the rows, so a failure part-way can simply be retried.
func (p *platform) DestroyApp(ctx context.Context, user, name string) error {
	if _, err := p.db.GetApp(ctx, name); err != nil {
		return err
	}
	unlock := p.locks.lock(name)
	defer unlock()
	if err := p.deployer.Destroy(ctx, name); err != nil {
		return fmt.Errorf("removing containers and images of %s: %w", name, err)
	}
	if err := gitreceiver.RemoveRepo(p.reposDir, name); err != nil {
		return fmt.Errorf("removing the repo of %s: %w", name, err)
	}
	if err := p.db.DeleteApp(ctx, name); err != nil {
		return err
	}
	if err := p.db.DeleteLogs(ctx, name); err != nil { // a new app of that name starts clean
		p.log.Warn("deleting the logs of a destroyed app", "app", name, "err", err)
	}
	if err := p.builder.PurgeCache(ctx, name); err != nil { // the buildpack cache volume
		p.log.Warn("deleting the build cache of a destroyed app", "app", name, "err", err)
	}
	p.event(ctx, name, user, "app.destroy", "destroyed app "+name)
	return nil
}

func (p *platform) Processes(ctx context.Context, app string) ([]wharf.Process, error) {
	if _, err := p.db.GetApp(ctx, app); err != nil {
		return nil, err
	}
	procs, err := p.deployer.Processes(ctx, app)
	if procs == nil && err == nil {
		procs = []wharf.Process{}
	}
	return procs, err
}

func (p *platform) ListKeys(ctx context.Context) ([]wharf.Key, error) {
	return p.db.ListKeys(ctx)
}

func (p *platform) AddKey(ctx context.Context, user, name, publicKey string) (wharf.Key, error) {
	normalized, fp, comment, err := parsePublicKey(publicKey)
	if err != nil {
		return wharf.Key{}, err
	}
	if name == "" {
		name = comment
	}
	if err := wharf.ValidateKeyName(name); err != nil {
		return wharf.Key{}, err
	}
	k, err := p.db.AddKey(ctx, wharf.Key{Name: name, Owner: user, Fingerprint: fp, PublicKey: normalized})
	if err != nil {
		return k, err
	}
	p.event(ctx, "", user, "key.add", "added SSH key "+name+" ("+fp+")")
	return k, nil
}

func (p *platform) RemoveKey(ctx context.Context, user, name string) error {
	if err := p.db.RemoveKey(ctx, name); err != nil {
		return err
	}
	p.event(ctx, "", user, "key.remove", "removed SSH key "+name)
	return nil
}

// event records activity; a failure to record is logged, never fatal.
func (p *platform) event(ctx context.Context, app, actor, kind, message string) {
	if err := p.db.AddEvent(ctx, app, actor, kind, message); err != nil {
		p.log.Warn("recording an event failed", "app", app, "kind", kind, "err", err)
	}
}
