package webtest

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/web"
)

// nodeState is the fake's swarm: nil nodes means the single-engine
// scheduler, as wharfd serve without --scheduler swarm.
type nodeState struct {
	nodes     []wharf.Node
	placement map[string][]string // app → constraints
}

// The fake's notes and errors, the daemon's words.
const (
	noSwarm         = "nodes need a swarm: start wharfd with `wharfd serve --scheduler swarm` (this daemon runs apps on its one Docker Engine, --scheduler docker)"
	swarmOnlyNote   = "stored; placement takes effect on a swarm only (wharfd serve --scheduler swarm): this daemon runs apps on its one Docker Engine"
	firstDeployNote = "stored; it applies from the app's first deploy"
)

// SetNodes makes the fake a swarm with these nodes (nil: no swarm again).
func (f *Fake) SetNodes(nodes []wharf.Node) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes.nodes = slices.Clone(nodes)
}

// Nodes implements web.Service.
func (f *Fake) Nodes(context.Context) ([]wharf.Node, error) {
	if err := f.hook("Nodes"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.nodes.nodes == nil {
		return nil, wharf.Errorf(wharf.EINVALID, noSwarm)
	}
	return slices.Clone(f.nodes.nodes), nil
}

// node returns the index of the node named by id, id prefix (6+) or
// hostname. f.mu held.
func (f *Fake) node(name string) (int, error) {
	if f.nodes.nodes == nil {
		return 0, wharf.Errorf(wharf.EINVALID, noSwarm)
	}
	for i, n := range f.nodes.nodes {
		if n.ID == name || n.Hostname == name || (len(name) >= 6 && strings.HasPrefix(n.ID, name)) {
			return i, nil
		}
	}
	return 0, wharf.Errorf(wharf.ENOTFOUND, "no node %q in the swarm", name)
}

// DrainNode implements web.Service: the node's tasks go to the first
// other active node.
func (f *Fake) DrainNode(_ context.Context, user, name string) (web.NodeAction, error) {
	if err := f.hook("DrainNode"); err != nil {
		return web.NodeAction{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.node(name)
	if err != nil {
		return web.NodeAction{}, err
	}
	n := &f.nodes.nodes[i]
	for j := range f.nodes.nodes {
		if o := &f.nodes.nodes[j]; j != i && o.Availability == "active" {
			o.Tasks, n.Tasks = o.Tasks+n.Tasks, 0
			break
		}
	}
	n.Availability = "drain"
	f.act.events = append([]web.Event{{Actor: user, Kind: "node.drain", Message: "drained node " + name, Time: time.Now().UTC()}}, f.act.events...)
	return web.NodeAction{Node: name, Output: []string{
		"Node " + n.Hostname + " paused: no new tasks go there",
		"Node " + n.Hostname + " drained",
	}}, nil
}

// ActivateNode implements web.Service.
func (f *Fake) ActivateNode(_ context.Context, user, name string) (web.NodeAction, error) {
	if err := f.hook("ActivateNode"); err != nil {
		return web.NodeAction{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.node(name)
	if err != nil {
		return web.NodeAction{}, err
	}
	n := &f.nodes.nodes[i]
	n.Availability = "active"
	f.act.events = append([]web.Event{{Actor: user, Kind: "node.activate", Message: "activated node " + name, Time: time.Now().UTC()}}, f.act.events...)
	return web.NodeAction{Node: name, Output: []string{"Node " + n.Hostname + " active: new tasks may be scheduled there"}}, nil
}

// Placement implements web.Service.
func (f *Fake) Placement(_ context.Context, app string) (web.Placement, error) {
	if err := f.hook("Placement"); err != nil {
		return web.Placement{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return web.Placement{}, wharf.Errorf(wharf.ENOTFOUND, "app %q not found", app)
	}
	p := web.Placement{App: app, Constraints: slices.Clone(f.nodes.placement[app])}
	if f.nodes.nodes == nil {
		p.Note = swarmOnlyNote
	}
	return p, nil
}

// SetPlacement implements web.Service, validating like the daemon. On a
// swarm, a deployed app's change is applied at once.
func (f *Fake) SetPlacement(_ context.Context, user, app string, constraints []string) (web.Placement, error) {
	if err := f.hook("SetPlacement"); err != nil {
		return web.Placement{}, err
	}
	c, err := wharf.ParsePlacement(constraints)
	if err != nil {
		return web.Placement{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[app]
	if !ok {
		return web.Placement{}, wharf.Errorf(wharf.ENOTFOUND, "app %q not found", app)
	}
	if f.nodes.placement == nil {
		f.nodes.placement = map[string][]string{}
	}
	f.nodes.placement[app] = c
	p := web.Placement{App: app, Constraints: slices.Clone(c)}
	switch {
	case f.nodes.nodes == nil:
		p.Note = swarmOnlyNote
	case a.Release == nil:
		p.Note = firstDeployNote
	default:
		p.Applied = true
		p.Output = []string{"Scaling service wharf-" + app + "-web"}
	}
	f.act.events = append([]web.Event{{App: app, Actor: user, Kind: "placement", Message: "set placement " + strings.Join(c, " "), Time: time.Now().UTC()}}, f.act.events...)
	return p, nil
}
