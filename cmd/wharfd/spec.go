package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/deploy"
)

// releaseType is the Procfile entry that runs once per release, before the
// swap; it is not a process type that runs.
const releaseType = "release"

// processTypes returns the types a release runs (type → command, "" for the
// image's own command): its Procfile's without release, else web.
func processTypes(rel wharf.Release) map[string]string {
	types := map[string]string{}
	for t, cmd := range rel.ProcessTypes {
		if t != releaseType {
			types[t] = cmd
		}
	}
	if len(types) == 0 {
		types["web"] = ""
	}
	return types
}

// defaultQuantity is how many of a type run before anyone scales it.
func defaultQuantity(typ string) int {
	if typ == "web" {
		return 1
	}
	return 0
}

// formationOf joins a release's types with the app's formation rows.
func formationOf(rel wharf.Release, rows []wharf.Formation) []wharf.Formation {
	byType := map[string]wharf.Formation{}
	for _, r := range rows {
		byType[r.Type] = r
	}
	types := processTypes(rel)
	out := make([]wharf.Formation, 0, len(types))
	for _, t := range slices.Sorted(maps.Keys(types)) {
		f, ok := byType[t]
		if !ok {
			f = wharf.Formation{Type: t, Quantity: defaultQuantity(t)}
		}
		f.Command = types[t]
		out = append(out, f)
	}
	return out
}

// specFor is what the deployer must run for rel: its image, config and
// types, with the app's current formation, volumes, placement and health
// check.
func (p *platform) specFor(ctx context.Context, rel wharf.Release) (deploy.Spec, error) {
	rows, err := p.db.Formation(ctx, rel.App)
	if err != nil {
		return deploy.Spec{}, fmt.Errorf("formation of %s: %w", rel.App, err)
	}
	vols, err := p.db.Volumes(ctx, rel.App)
	if err != nil {
		return deploy.Spec{}, fmt.Errorf("volumes of %s: %w", rel.App, err)
	}
	placement, err := p.db.Placement(ctx, rel.App)
	if err != nil {
		return deploy.Spec{}, fmt.Errorf("placement of %s: %w", rel.App, err)
	}
	s := deploy.Spec{App: rel.App, Release: rel.Version, Image: rel.Image, Env: rel.Config,
		Processes: map[string]deploy.ProcessSpec{}, ReleaseCommand: rel.ProcessTypes[releaseType], Placement: placement}
	for _, f := range formationOf(rel, rows) {
		s.Processes[f.Type] = deploy.ProcessSpec{Command: f.Command, Quantity: f.Quantity, Memory: f.Memory, CPUs: f.CPUs}
	}
	for _, v := range vols {
		s.Volumes = append(s.Volumes, deploy.Volume{Name: v.Name, Path: v.Path})
	}
	hc := healthOf(rel)
	s.Health = deploy.HealthCheck{Path: hc.Path, Timeout: time.Duration(hc.Timeout) * time.Second, Attempts: hc.Attempts}
	return s, nil
}

// healthOf is the release's app.json health check, overridden field by
// field by the config vars WHARF_HEALTHCHECK_PATH, _TIMEOUT and _ATTEMPTS
// (ignored when invalid; config:set refuses invalid ones).
func healthOf(rel wharf.Release) wharf.HealthCheck {
	hc := rel.Health
	if v := rel.Config["WHARF_HEALTHCHECK_PATH"]; v != "" {
		hc.Path = v
	}
	if n, err := strconv.Atoi(rel.Config["WHARF_HEALTHCHECK_TIMEOUT"]); err == nil {
		hc.Timeout = n
	}
	if n, err := strconv.Atoi(rel.Config["WHARF_HEALTHCHECK_ATTEMPTS"]); err == nil {
		hc.Attempts = n
	}
	if validateHealth(hc, "") != nil {
		return rel.Health
	}
	return hc
}

// healthFromConfig checks the WHARF_HEALTHCHECK_* vars of cfg.
func healthFromConfig(cfg map[string]string) error {
	var hc wharf.HealthCheck
	hc.Path = cfg["WHARF_HEALTHCHECK_PATH"]
	for key, dst := range map[string]*int{"WHARF_HEALTHCHECK_TIMEOUT": &hc.Timeout, "WHARF_HEALTHCHECK_ATTEMPTS": &hc.Attempts} {
		v, ok := cfg[key]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return wharf.Errorf(wharf.EINVALID, "%s must be a positive whole number, not %q", key, v)
		}
		*dst = n
	}
	return validateHealth(hc, "config")
}

// desired is every app's current release spec, for the reconcile loop.
func (p *platform) desired(ctx context.Context) (map[string]deploy.Spec, error) {
	apps, err := p.db.ListApps(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing apps: %w", err)
	}
	out := map[string]deploy.Spec{}
	for _, a := range apps {
		rel, err := p.db.CurrentRelease(ctx, a.Name)
		if wharf.ErrorCode(err) == wharf.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("current release of %s: %w", a.Name, err)
		}
		if out[a.Name], err = p.specFor(ctx, rel); err != nil {
			return nil, err
		}
	}
	return out, nil
}
