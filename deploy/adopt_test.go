package deploy

import (
	"context"
	"slices"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/wharfhq/wharf"
)

// scopedEngine hides other apps' containers from Adopt, so that this test
// never removes containers of tests running elsewhere on the machine.
type scopedEngine struct {
	engine
	apps []string
}

func (s scopedEngine) List(ctx context.Context, app string) ([]instance, error) {
	list, err := s.engine.List(ctx, app)
	return slices.DeleteFunc(list, func(in instance) bool { return !slices.Contains(s.apps, in.App) }), err
}

func TestAdoptKeepsStartsAndRemoves(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	kept, fresh, gone := e.appName(t, "keep"), e.appName(t, "fresh"), e.appName(t, "gone")
	e.d.eng = scopedEngine{e.d.eng, []string{kept, fresh, gone}}

	// kept runs v1, and a deploy of v2 died after starting its container.
	v1 := deployV1(t, e, kept)
	ws, err := e.d.plan(ctx, Spec{App: kept, Release: 2, Image: "wharf/" + kept + ":v1"})
	if err != nil {
		t.Fatal(err)
	}
	orphan, _, err := e.d.eng.Run(ctx, ws[0])
	if err != nil {
		t.Fatal(err)
	}
	before, err := e.cli.ContainerInspect(ctx, v1.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	// fresh has a current release but nothing runs; gone is no app anymore.
	freshImg := e.build(t, "wharf/"+fresh+":v3", webApp)
	deployV1(t, e, gone)
	_ = e.store.SetProcesses(ctx, kept, nil)

	err = e.d.Adopt(ctx, map[string]Spec{
		kept:  {App: kept, Release: 1, Image: "wharf/" + kept + ":v1", Env: map[string]string{"BODY": "v1"}},
		fresh: {App: fresh, Release: 3, Image: freshImg, Env: map[string]string{"BODY": "fresh v3"}},
	})
	if err != nil {
		t.Fatal(err)
	}

	after, err := e.cli.ContainerInspect(ctx, v1.ContainerID)
	if err != nil {
		t.Fatalf("the running v1 container is gone: %v", err)
	}
	if after.State.StartedAt != before.State.StartedAt || after.RestartCount != 0 {
		t.Errorf("v1 was restarted: started %s, then %s", before.State.StartedAt, after.State.StartedAt)
	}
	if p := e.store.only(t, kept); p.ContainerID != v1.ContainerID || p.Addr != v1.Addr {
		t.Errorf("recorded %+v, want the adopted %+v", p, v1)
	}
	mustGet(t, v1.Addr, "v1")
	if _, err := e.cli.ContainerInspect(ctx, orphan); !cerrdefs.IsNotFound(err) {
		t.Errorf("the orphan of v2 is still there (err %v)", err)
	}

	p := e.store.only(t, fresh)
	mustGet(t, p.Addr, "fresh v3")
	if p.Release != 3 {
		t.Errorf("fresh runs %+v, want v3", p)
	}
	if ids := e.containers(t, gone); len(ids) != 0 {
		t.Errorf("containers of an app without a current release remain: %v", ids)
	}
}

func TestCancelledDeployThenAdoptLeavesTheCurrentRelease(t *testing.T) {
	e := newEnv(t, Options{HealthTimeout: 30 * time.Second})
	ctx := context.Background()
	app := e.appName(t, "killed")
	e.d.eng = scopedEngine{e.d.eng, []string{app}}
	v1 := deployV1(t, e, app)

	// The daemon shuts down while v2 is being health-checked: the deploy's
	// context ends with it, and the next daemon adopts v1, still current.
	img := e.build(t, "wharf/"+app+":v2", "FROM wharf/"+app+":v1\nCMD exec sleep 3600\n")
	dctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	if err := e.d.Deploy(dctx, Spec{App: app, Release: 2, Image: img}, nil); wharf.ErrorCode(err) != wharf.EINVALID {
		t.Fatalf("cancelled deploy returned %v", err)
	}
	if err := e.d.Adopt(ctx, map[string]Spec{app: {App: app, Release: 1, Image: "wharf/" + app + ":v1"}}); err != nil {
		t.Fatal(err)
	}
	if ids := e.containers(t, app); !slices.Equal(ids, []string{v1.ContainerID}) {
		t.Errorf("containers = %v, want only v1's %s", ids, v1.ContainerID)
	}
	mustGet(t, e.store.only(t, app).Addr, "v1")
}

func TestAdoptKeepsAProcessNeverRouted(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	app := e.appName(t, "unrouted")
	e.d.eng = scopedEngine{e.d.eng, []string{app}}
	img := e.build(t, "wharf/"+app+":v1", webApp)
	// The daemon died between the health check and the switch: running,
	// not in the store.
	ws, err := e.d.plan(ctx, Spec{App: app, Release: 1, Image: img})
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := e.d.eng.Run(ctx, ws[0])
	if err != nil {
		t.Fatal(err)
	}
	before, err := e.cli.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}

	if err := e.d.Adopt(ctx, map[string]Spec{app: {App: app, Release: 1, Image: img}}); err != nil {
		t.Fatal(err)
	}
	after, err := e.cli.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if after.State.StartedAt != before.State.StartedAt {
		t.Errorf("the running container was restarted")
	}
	if p := e.store.only(t, app); p.ContainerID != id || p.State != "running" {
		t.Errorf("recorded %+v, want container %s running", p, id)
	}
}

// Two installations on one Docker Engine: Adopt of one, knowing none of the
// other's apps, leaves the other's containers running.
func TestAdoptLeavesOtherInstallationsAlone(t *testing.T) {
	other := newEnv(t, Options{Installation: "other-" + t.Name() + randomSuffix()})
	app := other.appName(t, "other")
	img := other.build(t, "wharf/"+app+":v1", webApp)
	other.deploy(t, Spec{App: app, Release: 1, Image: img, Env: map[string]string{"BODY": "v1"}})

	mine := newEnv(t, Options{Installation: "mine-" + t.Name() + randomSuffix()})
	if err := mine.d.Adopt(context.Background(), map[string]Spec{}); err != nil {
		t.Fatal(err)
	}
	if ids := other.containers(t, app); len(ids) != 1 {
		t.Fatalf("the other installation's app has %d containers after Adopt, want 1", len(ids))
	}
	mustGet(t, other.store.only(t, app).Addr, "v1")
}
