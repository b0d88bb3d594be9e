package deploy

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf"
)

const workerLoop = "while true; do sleep 1; done"

func TestDeployRunsTheFormation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Memory: 64 << 20, Settle: 500 * time.Millisecond})
	ctx := context.Background()
	app := e.appName(t, "form")
	img := e.build(t, "wharf/"+app+":v1", webApp)

	s := Spec{App: app, Release: 1, Image: img, Env: map[string]string{"BODY": "v1"},
		Processes: map[string]ProcessSpec{
			"web":    {Quantity: 2},
			"worker": {Command: workerLoop, Quantity: 1, Memory: 32 << 20, CPUs: 0.5},
		}}
	out := e.deploy(t, s)

	ps, _ := e.store.ListProcesses(ctx, app)
	if len(ps) != 3 {
		t.Fatalf("store holds %+v, want web.1, web.2, worker.1\n%s", ps, out)
	}
	for _, p := range ps {
		if p.State != "running" || p.ContainerName != containerName(app, p.Type, p.Instance, 1) {
			t.Errorf("recorded %+v", p)
		}
		c, err := e.cli.ContainerInspect(ctx, p.ContainerID)
		if err != nil {
			t.Fatal(err)
		}
		h := c.HostConfig
		if p.Type == "web" {
			mustGet(t, p.Addr, "v1")
			if h.Memory != 64<<20 || h.NanoCPUs != 0 || !slices.Contains(c.Config.Env, "PORT=5000") {
				t.Errorf("web memory %d, CPUs %d, env %v", h.Memory, h.NanoCPUs, c.Config.Env)
			}
			continue
		}
		if p.Addr != "" || len(h.PortBindings) != 0 || slices.ContainsFunc(c.Config.Env, func(v string) bool { return strings.HasPrefix(v, "PORT=") }) {
			t.Errorf("worker publishes %v / %q or has PORT: %v", h.PortBindings, p.Addr, c.Config.Env)
		}
		if h.Memory != 32<<20 || h.NanoCPUs != 5e8 || !slices.Equal(c.Config.Entrypoint, []string{"sh", "-c", workerLoop}) {
			t.Errorf("worker memory %d, CPUs %d, entrypoint %v", h.Memory, h.NanoCPUs, c.Config.Entrypoint)
		}
		if h.Init == nil || !*h.Init || !slices.Equal(h.CapDrop, []string{"ALL"}) || !slices.Contains(h.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("worker is not confined: %+v", h)
		}
	}
	live, err := e.d.Processes(ctx, app)
	if err != nil || len(live) != 3 {
		t.Fatalf("Processes = %+v, %v", live, err)
	}

	// A restarted daemon adopts the formation without restarting any of it.
	restarted := New(e.d.o)
	if err := restarted.Adopt(ctx, map[string]Spec{app: s}); err != nil {
		t.Fatal(err)
	}
	again, err := restarted.Processes(ctx, app)
	if err != nil || len(again) != 3 {
		t.Fatalf("Processes after Adopt = %+v, %v", again, err)
	}
	for i := range again {
		if again[i].ContainerID != live[i].ContainerID || !again[i].StartedAt.Equal(live[i].StartedAt) || again[i].State != "running" {
			t.Errorf("after Adopt %+v, before %+v", again[i], live[i])
		}
	}
	if rows, _ := e.store.ListProcesses(ctx, app); len(rows) != 3 {
		t.Errorf("store after Adopt: %+v", rows)
	}
}

func TestScaleUpAndDownWithoutFailedRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	ctx := context.Background()
	app := e.appName(t, "scale")
	img := e.build(t, "wharf/"+app+":v1", slowApp)
	spec := func(n int) Spec {
		return Spec{App: app, Release: 1, Image: img, Env: map[string]string{"BODY": "v1"},
			Processes: map[string]ProcessSpec{"web": {Quantity: n}}}
	}
	e.deploy(t, spec(1))
	first := e.store.only(t, app)

	load := startLoad(e.store, app, 4)
	var out bytes.Buffer
	if err := e.d.Scale(ctx, spec(3), &out); err != nil {
		t.Fatalf("scale to 3: %v\n%s", err, out.String())
	}
	up, _ := e.store.ListProcesses(ctx, app)
	time.Sleep(time.Second)
	if err := e.d.Scale(ctx, spec(1), &out); err != nil {
		t.Fatalf("scale to 1: %v\n%s", err, out.String())
	}
	time.Sleep(500 * time.Millisecond)
	ok, failed, _, firstErr := load.stop()

	t.Logf("FIGURE scale 1→3→1 under load: %d requests, %d failed", ok+failed, failed)
	if failed > 0 || ok < 10 {
		t.Errorf("%d of %d requests failed; first: %v\n%s", failed, ok+failed, firstErr, out.String())
	}
	if len(up) != 3 {
		t.Errorf("after scaling up the store holds %+v", up)
	}
	if p := e.store.only(t, app); p.ContainerID != first.ContainerID {
		t.Errorf("scaling down replaced web.1: %+v, was %+v", p, first)
	}
	if ids := e.containers(t, app); len(ids) != 1 {
		t.Errorf("%d containers after scaling down, want 1", len(ids))
	}
}

func TestRestartWithoutFailedRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Settle: 500 * time.Millisecond})
	ctx := context.Background()
	app := e.appName(t, "restart")
	img := e.build(t, "wharf/"+app+":v1", slowApp)
	s := Spec{App: app, Release: 1, Image: img, Env: map[string]string{"BODY": "v1"},
		Processes: map[string]ProcessSpec{"web": {Quantity: 2}, "worker": {Command: workerLoop, Quantity: 1}}}
	e.deploy(t, s)
	before, _ := e.store.ListProcesses(ctx, app)

	load := startLoad(e.store, app, 4)
	var out bytes.Buffer
	err := e.d.Restart(ctx, s, "web", &out)
	time.Sleep(300 * time.Millisecond)
	ok, failed, _, firstErr := load.stop()
	if err != nil {
		t.Fatalf("restart: %v\n%s", err, out.String())
	}

	t.Logf("FIGURE restart of web×2 under load: %d requests, %d failed", ok+failed, failed)
	if failed > 0 || ok < 10 {
		t.Errorf("%d of %d requests failed; first: %v\n%s", failed, ok+failed, firstErr, out.String())
	}
	after, _ := e.store.ListProcesses(ctx, app)
	if len(after) != 3 || len(before) != 3 {
		t.Fatalf("processes before %+v, after %+v", before, after)
	}
	for i := range after {
		b, a := before[i], after[i]
		if a.ContainerName != b.ContainerName || (a.Type == "web") == (a.ContainerID == b.ContainerID) {
			t.Errorf("%s.%d: before %s (%s), after %s (%s); want web replaced, worker kept", a.Type, a.Instance, b.ContainerID[:12], b.ContainerName, a.ContainerID[:12], a.ContainerName)
		}
	}
	if ids := e.containers(t, app); len(ids) != 3 {
		t.Errorf("%d containers after the restart, want 3", len(ids))
	}
	if err := e.d.Restart(ctx, s, "clock", nil); wharf.ErrorCode(err) != wharf.EINVALID {
		t.Errorf("restart of an unknown type: %v", err)
	}
}

// healthApp serves /cgi-bin/ready with the status in $READY (200 unless
// set), counting the probes in /www/probes.
const healthApp = `FROM ` + "wharf-test/busybox:latest" + `
RUN mkdir -p /www/cgi-bin && printf '#!/bin/sh\necho x >> /www/probes\necho "Status: ${READY:-200} Ready?"\necho "Content-Type: text/plain"\necho\necho ready\n' > /www/cgi-bin/ready && chmod +x /www/cgi-bin/ready
CMD echo "$BODY" > /www/index.html && exec httpd -f -p $PORT -h /www
`

func TestHealthCheckUsesTheAppsPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	app := e.appName(t, "hpath")
	img := e.build(t, "wharf/"+app+":v1", healthApp)
	health := HealthCheck{Path: "/cgi-bin/ready", Attempts: 3}
	e.deploy(t, Spec{App: app, Release: 1, Image: img, Env: map[string]string{"BODY": "v1"}, Health: health})
	v1 := e.store.only(t, app)
	body, err := getPath(v1.Addr, "/probes")
	if err != nil || strings.Count(body, "x") != 1 {
		t.Errorf("probes of /cgi-bin/ready: %q, %v", body, err)
	}

	// v2 answers its check with 503: never healthy, rolled back.
	s := Spec{App: app, Release: 2, Image: img, Env: map[string]string{"BODY": "v2", "READY": "503"}, Health: health,
		Processes: map[string]ProcessSpec{"web": {Quantity: 2}, "worker": {Command: workerLoop, Quantity: 1}}}
	took, err := failDeploy(t, e, s, v1)
	if msg := err.Error(); !strings.Contains(msg, "did not answer GET /cgi-bin/ready on port 5000") || !strings.Contains(msg, "3 answers failed") || !strings.Contains(msg, "503") {
		t.Errorf("error:\n%s", msg)
	}
	if took > 15*time.Second {
		t.Errorf("a check with 3 attempts took %s", took)
	}
}
