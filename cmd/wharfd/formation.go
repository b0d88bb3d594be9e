package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/web"
)

// Formation implements web.ReleaseService: the current release's types
// with their quantities and resources (only the stored rows before the
// first release).
func (p *platform) Formation(ctx context.Context, app string) ([]wharf.Formation, error) {
	rows, err := p.db.Formation(ctx, app)
	if err != nil {
		return nil, err
	}
	rel, err := p.db.CurrentRelease(ctx, app)
	if wharf.ErrorCode(err) == wharf.ENOTFOUND {
		return rows, nil
	}
	if err != nil {
		return nil, err
	}
	return formationOf(rel, rows), nil
}

// checkTypes returns an EINVALID error when a type is not one rel runs.
func checkTypes(rel wharf.Release, types ...string) error {
	known := processTypes(rel)
	for _, t := range types {
		if _, ok := known[t]; !ok {
			return wharf.Errorf(wharf.EINVALID, "unknown process type %q: v%d of %s has %s", t, rel.Version, rel.App,
				strings.Join(slices.Sorted(maps.Keys(known)), ", "))
		}
	}
	return nil
}

// Scale implements web.ReleaseService. Scaling a type up from never having
// run makes a new release; otherwise the running release converges. When
// it fails, the stored quantities are put back.
func (p *platform) Scale(ctx context.Context, user, app string, qty map[string]int) ([]wharf.Formation, error) {
	for t, n := range qty {
		if n < 0 || n > wharf.MaxQuantity {
			return nil, wharf.Errorf(wharf.EINVALID, "invalid quantity %s=%d: from 0 to %d", t, n, wharf.MaxQuantity)
		}
	}
	unlock := p.locks.lock(app)
	defer unlock()
	cur, err := p.currentRelease(ctx, app)
	if err != nil {
		return nil, err
	}
	if err := checkTypes(cur, slices.Collect(maps.Keys(qty))...); err != nil {
		return nil, err
	}
	rows, err := p.db.Formation(ctx, app)
	if err != nil {
		return nil, err
	}
	before, isNew := map[string]int{}, false
	for _, f := range formationOf(cur, rows) {
		if n, ok := qty[f.Type]; ok {
			before[f.Type] = f.Quantity
			isNew = isNew || (f.Quantity == 0 && n > 0 && !slices.ContainsFunc(rows, func(r wharf.Formation) bool { return r.Type == f.Type }))
		}
	}
	if err := p.db.ScaleFormation(ctx, app, qty); err != nil {
		return nil, err
	}
	if err := p.converge(ctx, user, cur, qty, isNew); err != nil {
		if rerr := p.db.ScaleFormation(context.WithoutCancel(ctx), app, before); rerr != nil {
			p.log.Error("restoring the formation after a failed scale", "app", app, "err", rerr)
		}
		return nil, err
	}
	p.event(ctx, app, user, "scale", "scaled "+quantities(qty))
	return p.Formation(ctx, app)
}

// converge runs the new formation: a new release when a type runs for the
// first time, else the deployer scales the running one.
func (p *platform) converge(ctx context.Context, user string, cur wharf.Release, qty map[string]int, isNew bool) error {
	if isNew {
		_, err := p.followUp(ctx, user, cur, cur.Config, "Scale "+quantities(qty))
		return err
	}
	spec, err := p.specFor(ctx, cur)
	if err != nil {
		return err
	}
	return p.deployer.Scale(ctx, spec, io.Discard)
}

func quantities(qty map[string]int) string {
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(qty)) {
		parts = append(parts, fmt.Sprintf("%s=%d", t, qty[t]))
	}
	return strings.Join(parts, " ")
}

// RestartProcesses implements web.ReleaseService.
func (p *platform) RestartProcesses(ctx context.Context, user, app, processType string) error {
	unlock := p.locks.lock(app)
	defer unlock()
	cur, err := p.currentRelease(ctx, app)
	if err != nil {
		return err
	}
	if processType != "" {
		if err := checkTypes(cur, processType); err != nil {
			return err
		}
	}
	spec, err := p.specFor(ctx, cur)
	if err != nil {
		return err
	}
	if err := p.deployer.Restart(ctx, spec, processType, io.Discard); err != nil {
		return err
	}
	what := "all processes"
	if processType != "" {
		what = processType + " processes"
	}
	p.event(ctx, app, user, "restart", fmt.Sprintf("restarted %s of v%d", what, cur.Version))
	return nil
}

// SetResources implements web.ReleaseService; the limits apply from the
// next deploy or restart.
func (p *platform) SetResources(ctx context.Context, user, app string, u web.ResourcesUpdate) ([]wharf.Formation, error) {
	unlock := p.locks.lock(app)
	defer unlock()
	cur, err := p.currentRelease(ctx, app)
	if err != nil {
		return nil, err
	}
	if err := checkTypes(cur, u.Type); err != nil {
		return nil, err
	}
	rows, err := p.db.Formation(ctx, app)
	if err != nil {
		return nil, err
	}
	f := wharf.Formation{Type: u.Type}
	if i := slices.IndexFunc(rows, func(r wharf.Formation) bool { return r.Type == u.Type }); i >= 0 {
		f = rows[i]
	}
	if u.Memory != "" {
		if f.Memory, err = wharf.ParseMemory(u.Memory); err != nil {
			return nil, err
		}
	}
	if u.CPUs != nil {
		if c := *u.CPUs; c < 0.01 || c > float64(runtime.NumCPU()) {
			return nil, wharf.Errorf(wharf.EINVALID, "invalid cpus %g: from 0.01 to %d (this host's CPUs)", c, runtime.NumCPU())
		}
		f.CPUs = *u.CPUs
	}
	if err := p.db.SetResources(ctx, app, f, defaultQuantity(u.Type)); err != nil {
		return nil, err
	}
	p.event(ctx, app, user, "resources", fmt.Sprintf("set resources of %s: memory %d MiB, cpus %g", u.Type, f.Memory>>20, f.CPUs))
	return p.Formation(ctx, app)
}
