package main

import (
	"context"
	"strings"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/web"
)

// Notes of a placement answer.
const (
	swarmOnlyNote   = "stored; placement takes effect on a swarm only (wharfd serve --scheduler swarm): this daemon runs apps on its one Docker Engine"
	firstDeployNote = "stored; it applies from the app's first deploy"
)

// Placement implements web.NodeService.
func (p *platform) Placement(ctx context.Context, app string) (web.Placement, error) {
	c, err := p.db.Placement(ctx, app)
	if err != nil {
		return web.Placement{}, err
	}
	res := web.Placement{App: app, Constraints: c}
	if p.nodes == nil {
		res.Note = swarmOnlyNote
	}
	return res, nil
}

// SetPlacement implements web.NodeService. Placement belongs to the
// formation, not to a release: on a swarm the running release is rescaled
// with the new constraints at once (a rolling update of each service, as
// Swarm moves tasks that no longer fit), and when that fails the stored
// constraints are put back. Constraints no ready, active node satisfies
// are refused, since Swarm would leave the tasks pending.
func (p *platform) SetPlacement(ctx context.Context, user, app string, constraints []string) (web.Placement, error) {
	c, err := wharf.ParsePlacement(constraints)
	if err != nil {
		return web.Placement{}, err
	}
	unlock := p.locks.lock(app)
	defer unlock()
	before, err := p.db.Placement(ctx, app)
	if err != nil {
		return web.Placement{}, err
	}
	if p.nodes != nil {
		if err := p.checkPlacement(ctx, c); err != nil {
			return web.Placement{}, err
		}
	}
	if err := p.db.SetPlacement(ctx, app, c); err != nil {
		return web.Placement{}, err
	}
	res := web.Placement{App: app, Constraints: c}
	switch rel, err := p.db.CurrentRelease(ctx, app); {
	case p.nodes == nil:
		res.Note = swarmOnlyNote
	case wharf.ErrorCode(err) == wharf.ENOTFOUND:
		res.Note = firstDeployNote
	case err != nil:
		p.restorePlacement(ctx, app, before)
		return web.Placement{}, err
	default:
		spec, err := p.specFor(ctx, rel)
		if err != nil {
			p.restorePlacement(ctx, app, before)
			return web.Placement{}, err
		}
		out := &progress{log: p.log.With("app", app)}
		if err := p.deployer.Scale(ctx, spec, out); err != nil {
			p.restorePlacement(ctx, app, before)
			return web.Placement{}, err
		}
		res.Applied, res.Output = true, out.lines()
	}
	p.event(ctx, app, user, "placement", describePlacement(c))
	return res, nil
}

// checkPlacement refuses constraints that no ready, active node of the
// swarm satisfies, as far as wharf.Node.Matches can tell.
func (p *platform) checkPlacement(ctx context.Context, c []string) error {
	if len(c) == 0 {
		return nil
	}
	nodes, err := p.nodes.Nodes(ctx)
	if err != nil {
		return err
	}
	var seen []string
	for _, n := range nodes {
		if n.State == "ready" && n.Availability == "active" {
			if n.Matches(c) {
				return nil
			}
			seen = append(seen, n.Hostname)
		}
	}
	return wharf.Errorf(wharf.EINVALID, "no ready, active node of the swarm satisfies %s (ready and active: %s): label nodes with "+
		"`docker node update --label-add tier=web NODE` on a manager; `wharf nodes` lists them", strings.Join(c, " "), orNone(seen))
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

// restorePlacement puts back the constraints of before a failed change.
func (p *platform) restorePlacement(ctx context.Context, app string, before []string) {
	if err := p.db.SetPlacement(context.WithoutCancel(ctx), app, before); err != nil {
		p.log.Error("restoring the placement after a failed change", "app", app, "err", err)
	}
}

// describePlacement is the activity line of a change.
func describePlacement(c []string) string {
	if len(c) == 0 {
		return "cleared placement: processes may run on any node"
	}
	return "set placement " + strings.Join(c, " ")
}
