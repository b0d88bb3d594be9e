package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/internal/testenv"
)

func TestDeployServesAndConfinesTheContainer(t *testing.T) {
	e := newEnv(t, Options{Memory: 64 << 20, PidsLimit: 100})
	app := e.appName(t, "serve")
	img := e.build(t, "wharf/"+app+":v1", webApp)

	out := e.deploy(t, Spec{App: app, Release: 1, Image: img, Env: map[string]string{"BODY": "hello v1"}})

	for _, want := range []string{"Starting web.1 of v1", "Waiting for web.1 to answer on port 5000", "web.1 healthy after", "Routing to v1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	p := e.store.only(t, app)
	mustGet(t, p.Addr, "hello v1")
	if !strings.HasPrefix(p.Addr, "127.0.0.1:") || p.State != "running" || p.Release != 1 || p.Type != "web" || p.Instance != 1 {
		t.Errorf("recorded process = %+v", p)
	}
	if e.routes.syncs != 1 {
		t.Errorf("routes synced %d times, want 1", e.routes.syncs)
	}

	c, err := e.cli.ContainerInspect(context.Background(), p.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	checkContainer(t, c, app, 5000)
	if c.HostConfig.Memory != 64<<20 || c.HostConfig.PidsLimit == nil || *c.HostConfig.PidsLimit != 100 {
		t.Errorf("memory = %d, pids limit = %v; want 64 MiB and 100", c.HostConfig.Memory, c.HostConfig.PidsLimit)
	}
	if !slices.Contains(c.Config.Env, "BODY=hello v1") {
		t.Errorf("env %v lacks the config var", c.Config.Env)
	}
}

// checkContainer asserts the name, labels, port binding and confinement of
// an app's web.1 container of v1.
func checkContainer(t *testing.T, c container.InspectResponse, app string, port int) {
	t.Helper()
	if want := "/wharf-" + app + "-web-1-v1"; c.Name != want {
		t.Errorf("name = %q, want %q", c.Name, want)
	}
	wantLabels := map[string]string{wharf.LabelManaged: "true", wharf.LabelApp: app, wharf.LabelRelease: "1", wharf.LabelProcess: "web", wharf.LabelInstance: "1"}
	for k, v := range wantLabels {
		if c.Config.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Config.Labels[k], v)
		}
	}
	h := c.HostConfig
	if h.Init == nil || !*h.Init {
		t.Error("container runs without an init")
	}
	if !slices.Contains(h.SecurityOpt, "no-new-privileges:true") {
		t.Errorf("security options %v lack no-new-privileges", h.SecurityOpt)
	}
	if !slices.Equal(h.CapDrop, []string{"ALL"}) || slices.Contains(h.CapAdd, "SYS_ADMIN") || len(h.CapAdd) == 0 {
		t.Errorf("cap drop %v, cap add %v", h.CapDrop, h.CapAdd)
	}
	if h.Privileged || len(h.Binds) > 0 || len(c.Mounts) > 0 {
		t.Errorf("privileged %v, binds %v, mounts %v", h.Privileged, h.Binds, c.Mounts)
	}
	// Wharf's reconcile loop restarts crashed processes, not the engine.
	if h.RestartPolicy.Name != container.RestartPolicyDisabled {
		t.Errorf("restart policy = %q", h.RestartPolicy.Name)
	}
	if h.LogConfig.Type != "json-file" || h.LogConfig.Config["max-size"] != "10m" || h.LogConfig.Config["max-file"] != "3" {
		t.Errorf("log config = %+v", h.LogConfig)
	}
	bindings := h.PortBindings[nat.Port(itoa(port)+"/tcp")]
	if len(h.PortBindings) != 1 || len(bindings) != 1 || bindings[0].HostIP != "127.0.0.1" {
		t.Errorf("port bindings = %+v, want %d/tcp on 127.0.0.1 only", h.PortBindings, port)
	}
	if !slices.Contains(c.Config.Env, "PORT="+itoa(port)) {
		t.Errorf("env %v lacks PORT=%d", c.Config.Env, port)
	}
}

func TestDeployListensOnTheExposedPort(t *testing.T) {
	e := newEnv(t, Options{})
	app := e.appName(t, "expose")
	img := e.build(t, "wharf/"+app+":v1", webApp+"EXPOSE 8080\n")

	out := e.deploy(t, Spec{App: app, Release: 1, Image: img, Env: map[string]string{"BODY": "on 8080", "PORT": "9999"}})

	if !strings.Contains(out, "answer on port 8080") {
		t.Errorf("output:\n%s", out)
	}
	p := e.store.only(t, app)
	mustGet(t, p.Addr, "on 8080")
	c, err := e.cli.ContainerInspect(context.Background(), p.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	checkContainer(t, c, app, 8080)
}

// slowApp answers / after 300ms, so that requests are in flight when the
// old container is stopped, unless the deploy drains it first.
const slowApp = `FROM ` + testenv.BusyboxImage + `
RUN mkdir -p /www/cgi-bin && printf '#!/bin/sh\nsleep 0.3\necho "Content-Type: text/plain"\necho\necho "$BODY"\n' > /www/cgi-bin/index.cgi && chmod +x /www/cgi-bin/index.cgi
CMD exec httpd -f -p $PORT -h /www
`

func TestRedeployHasNoDowntime(t *testing.T) {
	e := newEnv(t, Options{})
	app := e.appName(t, "swap")
	img := e.build(t, "wharf/"+app+":v1", slowApp)
	e.deploy(t, Spec{App: app, Release: 1, Image: img, Env: map[string]string{"BODY": "v1"}})
	old := e.store.only(t, app)

	load := startLoad(e.store, app, 4)
	begin := time.Now()
	out := begin.Format("15:04:05.000 ") + e.deploy(t, Spec{App: app, Release: 2, Image: img, Env: map[string]string{"BODY": "v2"}})
	took := time.Since(begin)
	time.Sleep(500 * time.Millisecond)
	ok, failed, sawV2, firstErr := load.stop()
	healthy := regexp.MustCompile(`healthy after [0-9.]+s`).FindString(out)
	t.Logf("FIGURE redeploy under load: %d requests, %d failed; deploy took %s (web.1 %s, then 1s drain and stop)", ok+failed, failed, took.Round(10*time.Millisecond), healthy)

	if failed > 0 {
		t.Errorf("%d of %d requests failed during the redeploy; first: %v\ndeploy output:\n%s", failed, failed+ok, firstErr, out)
	}
	if !sawV2 || ok < 10 {
		t.Errorf("%d requests succeeded, saw v2: %v", ok, sawV2)
	}
	if !strings.Contains(out, "Stopping web.1 of v1") {
		t.Errorf("output:\n%s", out)
	}
	if _, err := e.cli.ContainerInspect(context.Background(), old.ContainerID); !cerrdefs.IsNotFound(err) {
		t.Errorf("old container still there (err %v)", err)
	}
	if ids := e.containers(t, app); len(ids) != 1 {
		t.Errorf("app has %d containers after the redeploy, want 1", len(ids))
	}
}

// load is n clients sending GET / in a loop to whatever address the store
// holds for the app at each request.
type load struct {
	done       chan struct{}
	wg         sync.WaitGroup
	ok, failed atomic.Int64
	n          atomic.Int64
	sawV2      atomic.Bool
	mu         sync.Mutex
	firstErr   error
}

func startLoad(store *memStore, app string, n int) *load {
	l := &load{done: make(chan struct{})}
	for range n {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.done:
					return
				default:
				}
				l.record(l.request(store, app))
			}
		}()
	}
	return l
}

func (l *load) request(store *memStore, app string) error {
	ps, _ := store.ListProcesses(context.Background(), app)
	ps = slices.DeleteFunc(ps, func(p wharf.Process) bool { return p.Type != "web" || p.State != "running" })
	if len(ps) == 0 {
		return fmt.Errorf("%s: store holds no running web process", time.Now().Format("15:04:05.000"))
	}
	p := ps[int(l.n.Add(1))%len(ps)]
	body, err := get(p.Addr)
	if err != nil {
		err = fmt.Errorf("%s at %s (%s.%d v%d): %w", time.Now().Format("15:04:05.000"), p.Addr, p.Type, p.Instance, p.Release, err)
	}
	if err == nil && strings.TrimSpace(body) == "v2" {
		l.sawV2.Store(true)
	}
	return err
}

func (l *load) record(err error) {
	if err == nil {
		l.ok.Add(1)
		return
	}
	l.failed.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.firstErr == nil {
		l.firstErr = err
	}
}

func (l *load) stop() (ok, failed int64, sawV2 bool, firstErr error) {
	close(l.done)
	l.wg.Wait()
	return l.ok.Load(), l.failed.Load(), l.sawV2.Load(), l.firstErr
}

// deployV1 deploys a working v1 and returns its process.
func deployV1(t *testing.T, e *env, app string) wharf.Process {
	t.Helper()
	img := e.build(t, "wharf/"+app+":v1", webApp)
	e.deploy(t, Spec{App: app, Release: 1, Image: img, Env: map[string]string{"BODY": "v1"}})
	return e.store.only(t, app)
}

// failDeploy deploys s expecting an EINVALID error, and checks that v1 is
// untouched: still recorded, still answering, the only container.
func failDeploy(t *testing.T, e *env, s Spec, v1 wharf.Process) (time.Duration, error) {
	t.Helper()
	var out bytes.Buffer
	begin := time.Now()
	err := e.d.Deploy(context.Background(), s, &out)
	took := time.Since(begin)
	if err == nil {
		t.Fatalf("deploy of v%d succeeded:\n%s", s.Release, out.String())
	}
	var we *wharf.Error
	if !errors.As(err, &we) || we.Code != wharf.EINVALID {
		t.Fatalf("error = %#v, want an EINVALID *wharf.Error", err)
	}
	if p := e.store.only(t, s.App); p != v1 {
		t.Errorf("store changed to %+v", p)
	}
	mustGet(t, v1.Addr, "v1")
	if ids := e.containers(t, s.App); !slices.Equal(ids, []string{v1.ContainerID}) {
		t.Errorf("containers after the failed deploy = %v, want only v1's %s", ids, v1.ContainerID)
	}
	return took, err
}

func TestDeployOfAnAppThatNeverListensFails(t *testing.T) {
	e := newEnv(t, Options{HealthTimeout: 2 * time.Second})
	app := e.appName(t, "mute")
	v1 := deployV1(t, e, app)
	img := e.build(t, "wharf/"+app+":v2", "FROM wharf/"+app+":v1\nCMD echo booting v2 on $PORT; exec sleep 3600\n")

	took, err := failDeploy(t, e, Spec{App: app, Release: 2, Image: img}, v1)

	msg := err.Error()
	if !strings.Contains(msg, "did not answer GET / on port 5000 within 2s") || !strings.Contains(msg, "booting v2 on 5000") {
		t.Errorf("error does not say why nor quote the output:\n%s", msg)
	}
	if took > 10*time.Second {
		t.Errorf("deploy took %s with a 2s health timeout", took)
	}
}

func TestDeployOfAnAppThatExitsFailsFast(t *testing.T) {
	e := newEnv(t, Options{HealthTimeout: 30 * time.Second})
	app := e.appName(t, "crash")
	v1 := deployV1(t, e, app)
	img := e.build(t, "wharf/"+app+":v2", "FROM wharf/"+app+":v1\nCMD echo fatal: DATABASE_URL is not set >&2; exit 3\n")

	took, err := failDeploy(t, e, Spec{App: app, Release: 2, Image: img}, v1)

	msg := err.Error()
	if !strings.Contains(msg, "exited with code 3") || !strings.Contains(msg, "fatal: DATABASE_URL is not set") {
		t.Errorf("error does not say why nor quote the output:\n%s", msg)
	}
	if took > 10*time.Second {
		t.Errorf("deploy of a crashing app took %s; want it to fail fast", took)
	}
}

func TestDeployOfAMissingImageFails(t *testing.T) {
	e := newEnv(t, Options{})
	app := e.appName(t, "noimg")
	v1 := deployV1(t, e, app)

	_, err := failDeploy(t, e, Spec{App: app, Release: 2, Image: "wharf/" + app + ":nope"}, v1)
	if !strings.Contains(err.Error(), "wharf/"+app+":nope") {
		t.Errorf("error does not name the image: %v", err)
	}
}

func TestDeployOfTheRunningReleaseAgainReplacesIt(t *testing.T) {
	e := newEnv(t, Options{})
	app := e.appName(t, "again")
	v1 := deployV1(t, e, app)

	e.deploy(t, Spec{App: app, Release: 1, Image: "wharf/" + app + ":v1", Env: map[string]string{"BODY": "v1 again"}})

	p := e.store.only(t, app)
	mustGet(t, p.Addr, "v1 again")
	if p.ContainerID == v1.ContainerID || p.ContainerName != v1.ContainerName {
		t.Errorf("new process %+v, old %+v", p, v1)
	}
	if ids := e.containers(t, app); !slices.Equal(ids, []string{p.ContainerID}) {
		t.Errorf("containers = %v, want only %s", ids, p.ContainerID)
	}
}
