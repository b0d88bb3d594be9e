package main

import (
	"context"

	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/web"
)

// maxConfigValue bounds one config var's value.
const maxConfigValue = 32 << 10

// Releases implements web.ReleaseService.
func (p *platform) Releases(ctx context.Context, app string) ([]wharf.Release, error) {
	return p.db.ListReleases(ctx, app)
}

// currentRelease is the app's running release, or an EINVALID error saying
// to push first.
func (p *platform) currentRelease(ctx context.Context, app string) (wharf.Release, error) {
	rel, err := p.db.CurrentRelease(ctx, app)
	if wharf.ErrorCode(err) == wharf.ENOTFOUND {
		if _, aerr := p.db.GetApp(ctx, app); aerr != nil {
			return rel, aerr
		}
		return rel, wharf.Errorf(wharf.EINVALID, "%s has no release yet: deploy it first with git push", app)
	}
	return rel, err
}

// followUp makes a new release from base (image, process types, health)
// with cfg, and deploys it. The deploy output goes to the log.
func (p *platform) followUp(ctx context.Context, user string, base wharf.Release, cfg map[string]string, desc string) (wharf.Release, error) {
	rel, err := p.db.CreateRelease(ctx, wharf.Release{App: base.App, Image: base.Image, Commit: base.Commit, Config: cfg,
		ProcessTypes: base.ProcessTypes, Health: base.Health, Status: wharf.ReleasePending, CreatedBy: user, Description: desc})
	if err != nil {
		return rel, fmt.Errorf("creating release: %w", err)
	}
	if err := p.release(ctx, rel, io.Discard); err != nil {
		return rel, err
	}
	rel.Status = wharf.ReleaseDeployed
	return rel, nil
}

// Rollback implements web.ReleaseService.
func (p *platform) Rollback(ctx context.Context, user, app string, version int) (wharf.Release, error) {
	unlock := p.locks.lock(app)
	defer unlock()
	cur, err := p.currentRelease(ctx, app)
	if err != nil {
		return cur, err
	}
	target, err := p.rollbackTarget(ctx, cur, version)
	if err != nil {
		return target, err
	}
	if _, err := p.docker.ImageInspect(ctx, target.Image); cerrdefs.IsNotFound(err) {
		return target, wharf.Errorf(wharf.EINVALID, "the image of v%d is gone (Wharf keeps the images of the last %d releases); roll back to a newer release or push again", target.Version, p.cfg.KeepReleases)
	} else if err != nil {
		return target, fmt.Errorf("inspecting the image of v%d: %w", target.Version, err)
	}
	rel, err := p.followUp(ctx, user, target, target.Config, fmt.Sprintf("Rollback to v%d", target.Version))
	if err != nil {
		return rel, err
	}
	if err := p.db.SetConfigVars(ctx, app, target.Config); err != nil {
		return rel, fmt.Errorf("v%d is live but its config was not stored for the next deploy: %w", rel.Version, err)
	}
	p.event(ctx, app, user, "rollback", fmt.Sprintf("rolled back to v%d as v%d", target.Version, rel.Version))
	return rel, nil
}

// rollbackTarget is release version of cur's app, or with 0 the deployed
// release before cur.
func (p *platform) rollbackTarget(ctx context.Context, cur wharf.Release, version int) (wharf.Release, error) {
	if version > 0 {
		rel, err := p.db.GetRelease(ctx, cur.App, version)
		if err == nil && rel.Status != wharf.ReleaseDeployed {
			err = wharf.Errorf(wharf.EINVALID, "v%d of %s never went live (status %s): roll back to a release that was deployed", version, cur.App, rel.Status)
		}
		return rel, err
	}
	rels, err := p.db.ListReleases(ctx, cur.App)
	if err != nil {
		return wharf.Release{}, err
	}
	for _, r := range rels {
		if r.Version < cur.Version && r.Status == wharf.ReleaseDeployed {
			return r, nil
		}
	}
	return wharf.Release{}, wharf.Errorf(wharf.EINVALID, "%s has no release before v%d to roll back to", cur.App, cur.Version)
}

// Config implements web.ReleaseService.
func (p *platform) Config(ctx context.Context, app string) (map[string]string, error) {
	return p.db.ConfigVars(ctx, app)
}

// UpdateConfig implements web.ReleaseService: the vars are stored only once
// the release carrying them is live (or right away without Restart).
func (p *platform) UpdateConfig(ctx context.Context, user, app string, u web.ConfigUpdate) (web.ConfigResult, error) {
	if err := validateConfigUpdate(u); err != nil {
		return web.ConfigResult{}, err
	}
	unlock := p.locks.lock(app)
	defer unlock()
	cfg, err := p.db.ConfigVars(ctx, app)
	if err != nil {
		return web.ConfigResult{}, err
	}
	for _, k := range u.Unset {
		if _, ok := cfg[k]; !ok {
			return web.ConfigResult{}, wharf.Errorf(wharf.EINVALID, "%s has no config var %s", app, k)
		}
		delete(cfg, k)
	}
	maps.Copy(cfg, u.Set)
	if err := healthFromConfig(cfg); err != nil {
		return web.ConfigResult{}, err
	}
	res := web.ConfigResult{Config: cfg}
	desc := configDescription(u)
	cur, err := p.db.CurrentRelease(ctx, app)
	if u.Restart && err == nil {
		rel, err := p.followUp(ctx, user, cur, cfg, desc)
		if err != nil {
			return res, err
		}
		res.Release = &rel
	} else if err != nil && wharf.ErrorCode(err) != wharf.ENOTFOUND {
		return res, err
	}
	if err := p.db.SetConfigVars(ctx, app, cfg); err != nil {
		return res, err
	}
	p.event(ctx, app, user, "config", desc) // keys only, never values
	return res, nil
}

func validateConfigUpdate(u web.ConfigUpdate) error {
	for k, v := range u.Set {
		if err := wharf.ValidateConfigKey(k); err != nil {
			return err
		}
		if len(v) > maxConfigValue || strings.ContainsRune(v, 0) {
			return wharf.Errorf(wharf.EINVALID, "the value of %s must be under %d bytes without NUL characters", k, maxConfigValue)
		}
	}
	for _, k := range u.Unset {
		if err := wharf.ValidateConfigKey(k); err != nil {
			return err
		}
		if _, ok := u.Set[k]; ok {
			return wharf.Errorf(wharf.EINVALID, "%s is both set and unset", k)
		}
	}
	return nil
}

// configDescription names the changed keys, never their values.
func configDescription(u web.ConfigUpdate) string {
	var parts []string
	if len(u.Set) > 0 {
		parts = append(parts, "Set "+strings.Join(slices.Sorted(maps.Keys(u.Set)), ", "))
	}
	if len(u.Unset) > 0 {
		parts = append(parts, "Unset "+strings.Join(slices.Sorted(slices.Values(u.Unset)), ", "))
	}
	return strings.Join(parts, "; ")
}
