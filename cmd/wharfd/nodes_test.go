package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/deploy"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/store"
)

// fakeSwarm is a scheduler and node manager that records what it is asked.
type fakeSwarm struct {
	scheduler // only Scale is called here
	mu        sync.Mutex
	scaled    []deploy.Spec
	scaleErr  error
	nodes     []wharf.Node
	drained   []string
	drainErr  error
	activated []string
}

func (f *fakeSwarm) Scale(_ context.Context, s deploy.Spec, out io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scaled = append(f.scaled, s)
	fmt.Fprintf(out, "Scaling service wharf-%s-web (1× v%d)\nwharf-%s-web: 1 of 1 running\n", s.App, s.Release, s.App)
	return f.scaleErr
}

func (f *fakeSwarm) Nodes(context.Context) ([]wharf.Node, error) { return f.nodes, nil }

func (f *fakeSwarm) DrainNode(_ context.Context, name string, out io.Writer) error {
	fmt.Fprintf(out, "Node %s paused: no new tasks go there\n", name)
	if f.drainErr != nil {
		return f.drainErr
	}
	fmt.Fprintf(out, "Moving the tasks of wharf-shop-web\nNode %s drained", name) // the last line without a newline
	f.drained = append(f.drained, name)
	return nil
}

func (f *fakeSwarm) ActivateNode(_ context.Context, name string) error {
	if name == "nope" {
		return wharf.Errorf(wharf.ENOTFOUND, "no node %q in the swarm", name)
	}
	f.activated = append(f.activated, name)
	return nil
}

func testPlatform(t *testing.T, swarm *fakeSwarm) (*platform, *store.DB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	db, err := store.Open(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	p := newPlatform(Config{Domain: "localhost"}, db, nil, nil, slog.New(slog.DiscardHandler))
	p.deployer = swarm
	if swarm.nodes != nil {
		p.nodes = swarm
	}
	return p, db
}

// events returns the activity feed's "kind: message" lines, oldest first.
func events(t *testing.T, db *store.DB, app string) []string {
	t.Helper()
	list, err := db.ListEvents(t.Context(), app, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range slices.Backward(list) {
		out = append(out, e.Kind+": "+e.Message)
	}
	return out
}

func TestNodesNeedASwarm(t *testing.T) {
	p, db := testPlatform(t, &fakeSwarm{})
	ctx := t.Context()
	_, err := p.Nodes(ctx)
	_, derr := p.DrainNode(ctx, "admin", "web-1")
	_, aerr := p.ActivateNode(ctx, "admin", "web-1")
	for _, err := range []error{err, derr, aerr} {
		if wharf.ErrorCode(err) != wharf.EINVALID || !strings.Contains(err.Error(), "wharfd serve --scheduler swarm") {
			t.Errorf("without a swarm: %v, want EINVALID naming --scheduler swarm", err)
		}
	}

	// Placement is stored, not applied, and the answer says why.
	if _, err := db.CreateApp(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateRelease(ctx, wharf.Release{App: "shop", Image: "wharf/shop:v1", Status: wharf.ReleaseDeployed}); err != nil {
		t.Fatal(err)
	}
	res, err := p.SetPlacement(ctx, "admin", "shop", []string{"node.labels.tier == web"})
	if err != nil || res.Applied || !strings.Contains(res.Note, "takes effect on a swarm only") || !slices.Equal(res.Constraints, []string{"node.labels.tier==web"}) {
		t.Fatalf("SetPlacement on docker = %+v, %v", res, err)
	}
	if got, _ := p.Placement(ctx, "shop"); !slices.Equal(got.Constraints, res.Constraints) || got.Note == "" {
		t.Errorf("Placement = %+v", got)
	}
	if ev := events(t, db, "shop"); !slices.Contains(ev, "placement: set placement node.labels.tier==web") {
		t.Errorf("activity = %q", ev)
	}
}

func TestDrainAndActivate(t *testing.T) {
	sw := &fakeSwarm{nodes: []wharf.Node{{ID: "n1", Hostname: "web-1", State: "ready", Availability: "active"}}}
	p, db := testPlatform(t, sw)
	ctx, cancel := context.WithCancel(t.Context())
	nodes, err := p.Nodes(ctx)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("Nodes = %+v, %v", nodes, err)
	}
	res, err := p.DrainNode(ctx, "admin", "web-1")
	want := []string{"Node web-1 paused: no new tasks go there", "Moving the tasks of wharf-shop-web", "Node web-1 drained"}
	if err != nil || res.Node != "web-1" || !slices.Equal(res.Output, want) {
		t.Fatalf("DrainNode = %+v, %v; want the lines %q", res, err, want)
	}
	if _, err := p.ActivateNode(ctx, "admin", "web-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ActivateNode(ctx, "admin", "nope"); wharf.ErrorCode(err) != wharf.ENOTFOUND {
		t.Errorf("activating an unknown node: %v", err)
	}
	sw.drainErr = errors.New("updating service wharf-shop-web: boom")
	if _, err := p.DrainNode(ctx, "admin", "web-1"); err == nil {
		t.Error("a failed drain succeeded")
	}
	cancel() // a drain outlives its request
	if _, err := p.DrainNode(ctx, "admin", "web-1"); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("drain after the request ended: %v, want the drain's own error", err)
	}
	got := events(t, db, "")
	for _, w := range []string{"node.drain: drained node web-1", "node.activate: activated node web-1",
		"node.drain: draining node web-1 failed: internal error"} {
		if !slices.Contains(got, w) {
			t.Errorf("activity lacks %q: %q", w, got)
		}
	}
}

func TestSetPlacementOnASwarm(t *testing.T) {
	sw := &fakeSwarm{nodes: []wharf.Node{
		{ID: "n1", Hostname: "mgr", Role: "manager", State: "ready", Availability: "active"},
		{ID: "n2", Hostname: "web-1", Role: "worker", State: "ready", Availability: "active", Labels: map[string]string{"tier": "web"}},
		{ID: "n3", Hostname: "web-2", Role: "worker", State: "down", Availability: "active", Labels: map[string]string{"tier": "db"}},
	}}
	p, db := testPlatform(t, sw)
	ctx := t.Context()
	if _, err := db.CreateApp(ctx, "shop"); err != nil {
		t.Fatal(err)
	}

	// Before the first deploy: stored for it.
	res, err := p.SetPlacement(ctx, "admin", "shop", []string{"node.role!=manager"})
	if err != nil || res.Applied || res.Note != firstDeployNote || len(sw.scaled) != 0 {
		t.Fatalf("SetPlacement before a deploy = %+v, %v (scaled %d)", res, err, len(sw.scaled))
	}
	rel, err := db.CreateRelease(ctx, wharf.Release{App: "shop", Image: "wharf/shop:v1", Status: wharf.ReleaseDeployed})
	if err != nil {
		t.Fatal(err)
	}
	if spec, err := p.specFor(ctx, rel); err != nil || !slices.Equal(spec.Placement, []string{"node.role!=manager"}) {
		t.Errorf("specFor = %+v, %v; want the placement in it", spec.Placement, err)
	}

	// A deployed app is rescaled at once with the new constraints.
	res, err = p.SetPlacement(ctx, "admin", "shop", []string{"node.labels.tier==web", "node.role!=manager"})
	if err != nil || !res.Applied || res.Note != "" || len(res.Output) != 2 {
		t.Fatalf("SetPlacement = %+v, %v", res, err)
	}
	if len(sw.scaled) != 1 || sw.scaled[0].Release != rel.Version || !slices.Equal(sw.scaled[0].Placement, []string{"node.labels.tier==web", "node.role!=manager"}) {
		t.Errorf("scaled %+v, want v%d with the constraints", sw.scaled, rel.Version)
	}

	// No ready, active node fits: refused before anything changes.
	_, err = p.SetPlacement(ctx, "admin", "shop", []string{"node.labels.tier==db"})
	if wharf.ErrorCode(err) != wharf.EINVALID || !strings.Contains(err.Error(), "no ready, active node of the swarm satisfies node.labels.tier==db") ||
		!strings.Contains(err.Error(), "docker node update --label-add") {
		t.Errorf("an unsatisfiable constraint: %v", err)
	}
	// A failed rollout puts the stored constraints back.
	sw.scaleErr = wharf.Errorf(wharf.EINVALID, "scale of shop v1 failed and was rolled back")
	if _, err := p.SetPlacement(ctx, "admin", "shop", []string{"node.hostname==web-1"}); wharf.ErrorCode(err) != wharf.EINVALID {
		t.Errorf("a failed rollout: %v", err)
	}
	if got, _ := p.Placement(ctx, "shop"); !slices.Equal(got.Constraints, []string{"node.labels.tier==web", "node.role!=manager"}) {
		t.Errorf("after the failed and the refused changes: %q, want the last applied ones", got.Constraints)
	}
	sw.scaleErr = nil
	if res, err := p.SetPlacement(ctx, "admin", "shop", nil); err != nil || len(res.Constraints) != 0 || !res.Applied {
		t.Errorf("clearing = %+v, %v", res, err)
	}
	if _, err := p.SetPlacement(ctx, "admin", "shop", []string{"tier=web"}); wharf.ErrorCode(err) != wharf.EINVALID || !strings.Contains(err.Error(), wharf.PlacementRule) {
		t.Errorf("a bad constraint: %v", err)
	}
	if _, err := p.SetPlacement(ctx, "admin", "nope", nil); wharf.ErrorCode(err) != wharf.ENOTFOUND {
		t.Errorf("an unknown app: %v", err)
	}
	want := []string{"placement: set placement node.role!=manager", "placement: set placement node.labels.tier==web node.role!=manager",
		"placement: cleared placement: processes may run on any node"}
	if got := events(t, db, "shop"); !slices.Equal(got, want) {
		t.Errorf("activity = %q, want %q", got, want)
	}
}
