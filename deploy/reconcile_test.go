package deploy

import (
	"context"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/wharfhq/wharf"
)

// healing is a Deployer that heals fast, for the reconcile tests.
var healing = Options{BackoffBase: 300 * time.Millisecond, BackoffMax: 3 * time.Second, CrashLimit: 3, Settle: 300 * time.Millisecond}

// awaitServing waits until the store routes app to a running web process
// started after since that answers want, and returns it and the time it
// took from since.
func awaitServing(t *testing.T, e *env, app, want string, since time.Time) (wharf.Process, time.Duration) {
	t.Helper()
	for time.Since(since) < 10*time.Second {
		ps, _ := e.store.ListProcesses(context.Background(), app)
		for _, p := range ps {
			if p.Type != "web" || p.State != "running" {
				continue
			}
			c, err := e.cli.ContainerInspect(context.Background(), p.ContainerID)
			if err != nil || !c.State.Running {
				continue
			}
			started, _ := time.Parse(time.RFC3339Nano, c.State.StartedAt)
			if body, err := quickGet(p.Addr); err == nil && strings.TrimSpace(body) == want && started.After(since) {
				return p, time.Since(since)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not serving %q again within 10s", app, want)
	return wharf.Process{}, 0
}

// quickGet is get without keep-alive and with a short timeout, so that a
// dead backend costs little of the time measured.
func quickGet(addr string) (string, error) {
	c := &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestReconcileReplacesKilledAndRemovedContainers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{}) // the default backoff, for a true figure
	ctx := context.Background()
	app := e.appName(t, "heal")
	v1 := deployV1(t, e, app)
	e.reconcile(t, map[string]Spec{app: {App: app, Release: 1, Image: "wharf/" + app + ":v1", Env: map[string]string{"BODY": "v1"}}}, 5*time.Second)

	killed := time.Now()
	if err := e.cli.ContainerKill(ctx, v1.ContainerID, "KILL"); err != nil {
		t.Fatal(err)
	}
	p, took := awaitServing(t, e, app, "v1", killed)
	t.Logf("FIGURE docker kill of web.1: serving again after %s", took.Round(10*time.Millisecond))
	if p.ContainerName != v1.ContainerName {
		t.Errorf("restarted as %+v", p)
	}

	removed := time.Now()
	if err := e.cli.ContainerRemove(ctx, p.ContainerID, container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	q, took := awaitServing(t, e, app, "v1", removed)
	t.Logf("FIGURE docker rm -f of web.1: serving again after %s", took.Round(10*time.Millisecond))
	if q.ContainerName != v1.ContainerName || q.Instance != 1 || q.ContainerID == p.ContainerID {
		t.Errorf("replaced by %+v", q)
	}
	if ids := e.containers(t, app); len(ids) != 1 {
		t.Errorf("%d containers, want 1", len(ids))
	}
}

func TestReconcileBacksOffAndReportsACrashLoop(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var crashes []Crash
	o := healing
	o.OnCrash = func(c Crash) { mu.Lock(); crashes = append(crashes, c); mu.Unlock() }
	e := newEnv(t, o)
	ctx := context.Background()
	app := e.appName(t, "loop")
	img := e.build(t, "wharf/"+app+":v1", webApp)
	s := Spec{App: app, Release: 1, Image: img, Processes: map[string]ProcessSpec{
		"worker": {Command: `echo "booting"; echo "fatal: no queue at $QUEUE_URL" >&2; exit 1`, Quantity: 1}}}
	e.reconcile(t, map[string]Spec{app: s}, 500*time.Millisecond)

	time.Sleep(8 * time.Second)
	ps, err := e.d.Processes(ctx, app)
	if err != nil || len(ps) != 1 {
		t.Fatalf("processes = %+v, %v", ps, err)
	}
	p := ps[0]
	t.Logf("FIGURE crash loop: %d restarts in 8s (backoff 0.3s doubling, max 3s)", p.Restarts)
	if p.State != "crashed" || p.ExitCode != 1 || !strings.Contains(p.LastLog, "fatal: no queue at") {
		t.Errorf("process = %+v, want crashed with exit code 1 and its output", p)
	}
	if p.Restarts < 2 || p.Restarts > 6 {
		t.Errorf("restarted %d times in 8s, want a growing backoff (2–6)", p.Restarts)
	}
	c, err := e.cli.ContainerInspect(ctx, p.ContainerID)
	if err != nil || c.RestartCount != 0 {
		t.Errorf("the engine restarted it (%v, %v)", c.RestartCount, err)
	}
	if rows, _ := e.store.ListProcesses(ctx, app); len(rows) != 1 || rows[0].State != "crashed" {
		t.Errorf("store rows = %+v", rows)
	}
	mu.Lock()
	got := append([]Crash(nil), crashes...)
	mu.Unlock()
	if len(got) < 2 || got[0].App != app || got[0].Process != "worker.1" || got[0].ExitCode != 1 || !got[len(got)-1].CrashLooping {
		t.Errorf("OnCrash was told %+v, want every crash of worker.1 with exit code 1, the last one crash-looping", got)
	}
}

func TestReconcileShowsAnOOMKill(t *testing.T) {
	t.Parallel()
	e := newEnv(t, healing)
	ctx := context.Background()
	app := e.appName(t, "oom")
	img := e.build(t, "wharf/"+app+":v1", webApp)
	s := Spec{App: app, Release: 1, Image: img, Processes: map[string]ProcessSpec{
		"worker": {Command: `echo allocating; x=$(head -c 100000000 /dev/zero | tr '\0' a); echo survived`, Quantity: 1, Memory: 16 << 20}}}
	e.reconcile(t, map[string]Spec{app: s}, 500*time.Millisecond)

	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ps, err := e.d.Processes(ctx, app)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 1 && ps[0].OOMKilled {
			t.Logf("OOM kill shown: %+v", ps[0])
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	ps, _ := e.d.Processes(ctx, app)
	t.Fatalf("no OOM kill shown: %+v", ps)
}

func TestReconcileRemovesOrphansAndKeepsTheRest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, healing)
	ctx := context.Background()
	app := e.appName(t, "orphan")
	v1 := deployV1(t, e, app)
	before, err := e.cli.ContainerInspect(ctx, v1.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	// Left by an interrupted deploy of v7, and an instance scaled away.
	var orphans []string
	for _, s := range []Spec{{App: app, Release: 7, Image: "wharf/" + app + ":v1"},
		{App: app, Release: 1, Image: "wharf/" + app + ":v1", Processes: map[string]ProcessSpec{"web": {Quantity: 2}}}} {
		ws, err := e.d.plan(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		id, _, err := e.d.eng.Run(ctx, ws[len(ws)-1])
		if err != nil {
			t.Fatal(err)
		}
		orphans = append(orphans, id)
	}
	e.reconcile(t, map[string]Spec{app: {App: app, Release: 1, Image: "wharf/" + app + ":v1", Env: map[string]string{"BODY": "v1"}}}, 500*time.Millisecond)

	deadline := time.Now().Add(15 * time.Second)
	for len(e.containers(t, app)) > 1 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	for _, id := range orphans {
		if _, err := e.cli.ContainerInspect(ctx, id); !cerrdefs.IsNotFound(err) {
			t.Errorf("orphan %s still there (%v)", id[:12], err)
		}
	}
	e.store.mu.Lock()
	sets := e.store.sets
	e.store.mu.Unlock()
	time.Sleep(1500 * time.Millisecond) // three more rounds
	after, err := e.cli.ContainerInspect(ctx, v1.ContainerID)
	if err != nil || after.State.StartedAt != before.State.StartedAt {
		t.Fatalf("v1 was restarted or removed: %v", err)
	}
	mustGet(t, e.store.only(t, app).Addr, "v1")
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	if e.store.sets != sets {
		t.Errorf("rounds over an app in its desired state wrote the store %d times", e.store.sets-sets)
	}
}

// The store learns of a deploy or a destroy just after the Deployer does:
// meanwhile the reconcile loop must neither remove the new release nor
// bring the destroyed app back.
func TestReconcileTrustsItsOwnOperationsOverAStaleStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, healing)
	ctx := context.Background()
	app := e.appName(t, "stale")
	img := e.build(t, "wharf/"+app+":v1", webApp)
	s := Spec{App: app, Release: 1, Image: img, Env: map[string]string{"BODY": "v1"}}
	var mu sync.Mutex
	desired := map[string]Spec{}
	ctx2, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.d.Reconcile(ctx2, func(context.Context) (map[string]Spec, error) {
			mu.Lock()
			defer mu.Unlock()
			return maps.Clone(desired), nil
		}, 100*time.Millisecond)
	}()
	t.Cleanup(func() { cancel(); <-done })

	e.deploy(t, s) // the store does not know of v1 yet
	time.Sleep(1500 * time.Millisecond)
	p := e.store.only(t, app)
	mustGet(t, p.Addr, "v1")

	mu.Lock()
	desired[app] = s // now it does, and keeps it after the destroy a while
	mu.Unlock()
	if err := e.d.Destroy(ctx, app); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if ids := e.containers(t, app); len(ids) != 0 {
		t.Errorf("the destroyed app came back: %v", ids)
	}
}

// A reconcile round waiting for a process that never answers gives way to
// a deploy (the fix) at once.
func TestReconcileYieldsToADeploy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{HealthTimeout: 60 * time.Second})
	app := e.appName(t, "yield")
	img := e.build(t, "wharf/"+app+":v1", webApp)
	mute := Spec{App: app, Release: 1, Image: img, Processes: map[string]ProcessSpec{"web": {Command: "exec sleep 3600", Quantity: 1}}}
	e.reconcile(t, map[string]Spec{app: mute}, 200*time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for len(e.containers(t, app)) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the round is in its health check now

	begin := time.Now()
	e.deploy(t, Spec{App: app, Release: 2, Image: img, Env: map[string]string{"BODY": "v2"}})
	took := time.Since(begin)
	t.Logf("FIGURE deploy while the reconcile loop waits for a mute process: %s", took.Round(10*time.Millisecond))
	if took > 15*time.Second {
		t.Errorf("the deploy waited %s for the reconcile round", took)
	}
	mustGet(t, e.store.only(t, app).Addr, "v2")
	if ids := e.containers(t, app); len(ids) != 1 {
		t.Errorf("%d containers after the deploy, want 1", len(ids))
	}
}
