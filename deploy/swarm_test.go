package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/internal/swarmtest"
	"github.com/wharfhq/wharf/router"
)

// swarmEnv is a Swarm backend on the host engine's one-node swarm, its
// feed running, and a real router in front that reads the same store.
type swarmEnv struct {
	*env
	sw     *Swarm
	router *router.Router
	url    string // the router's front
}

func newSwarmEnv(t *testing.T) *swarmEnv {
	t.Helper()
	cli := swarmtest.SingleNode(t)
	e := newEnv(t, Options{})
	se := &swarmEnv{env: e}
	se.router = router.New(router.Options{Logger: slog.New(slog.DiscardHandler)})
	f, err := se.router.ListenFront("127.0.0.1:0", router.FrontOptions{})
	if err != nil {
		t.Fatal(err)
	}
	se.url = "http://" + f.Addr().String()
	o := e.d.o
	o.Docker, o.DrainDelay, o.HealthTimeout = cli, 500*time.Millisecond, 30*time.Second
	o.Routes = routeSyncFunc(func(ctx context.Context) error { return se.router.Sync(ctx, se) })
	se.sw = NewSwarm(o, SwarmOptions{Monitor: time.Second, Poll: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		se.sw.Reconcile(ctx, func(context.Context) (map[string]Spec, error) {
			return nil, errors.New("no desired state in this test")
		}, time.Hour)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		f.Shutdown(sctx)
	})
	return se
}

type routeSyncFunc func(context.Context) error

func (f routeSyncFunc) SyncRoutes(ctx context.Context) error { return f(ctx) }

// Routes serves every app of the store at <app>.localhost.
func (se *swarmEnv) Routes(context.Context) ([]router.Route, error) {
	se.store.mu.Lock()
	defer se.store.mu.Unlock()
	var routes []router.Route
	for app, ps := range se.store.rows {
		r := router.Route{App: app, Hosts: []string{app + ".localhost"}}
		for _, p := range ps {
			if p.Type == "web" && p.State == stateRunning {
				r.Backends = append(r.Backends, p.Addr)
			}
		}
		routes = append(routes, r)
	}
	return routes, nil
}

// swarmApp returns a fresh app name whose services are removed at the end.
func (se *swarmEnv) swarmApp(t *testing.T, prefix string) string {
	app := se.appName(t, prefix)
	t.Cleanup(func() {
		ctx := context.Background()
		list, _ := se.sw.cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: se.sw.filter(app)})
		for _, s := range list {
			swarmtest.RemoveService(ctx, se.sw.cli, s.ID)
		}
	})
	return app
}

// getVia GETs / of app through the router.
func (se *swarmEnv) getVia(app string) (string, error) {
	req, _ := http.NewRequest(http.MethodGet, se.url+"/", nil)
	req.Host = app + ".localhost"
	res, err := httpClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("%s: %s", res.Status, strings.TrimSpace(string(b)))
	}
	return strings.TrimSpace(string(b)), nil
}

// routerLoad is n clients GETting an app through the router in a loop.
type routerLoad struct {
	stopC      chan struct{}
	wg         sync.WaitGroup
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []string
	seen       map[string]int
}

func (se *swarmEnv) startLoad(app string, n int) *routerLoad {
	l := &routerLoad{stopC: make(chan struct{}), seen: map[string]int{}}
	for range n {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stopC:
					return
				default:
				}
				body, err := se.getVia(app)
				l.mu.Lock()
				if err != nil {
					l.failed.Add(1)
					if len(l.errs) < 5 {
						l.errs = append(l.errs, time.Now().Format("15:04:05.000 ")+err.Error())
					}
				} else {
					l.ok.Add(1)
					l.seen[body]++
				}
				l.mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	return l
}

func (l *routerLoad) stop() {
	close(l.stopC)
	l.wg.Wait()
}

// running returns the app's routed web processes in the store.
func (se *swarmEnv) running(app string) []wharf.Process {
	ps, _ := se.store.ListProcesses(context.Background(), app)
	return slices.DeleteFunc(ps, func(p wharf.Process) bool { return p.Type != "web" || p.State != stateRunning })
}

// The whole life of an app on a one-node swarm, with a load test through
// the router the whole time: deploy, scale to 3, a config change (a
// rolling start-first update), a rollback, a restart, a failing release
// rolled back by Swarm, scale to 1 — and not one failed request.
func TestSwarmLifecycleWithoutFailedRequests(t *testing.T) {
	se := newSwarmEnv(t)
	app := se.swarmApp(t, "sw")
	img := se.build(t, "wharf/"+app+":v1", webApp)
	spec := func(rel, web int, body string) Spec {
		return Spec{App: app, Release: rel, Image: img, Env: map[string]string{"BODY": body},
			Processes: map[string]ProcessSpec{"web": {Quantity: web}}}
	}
	ctx := context.Background()
	var out strings.Builder
	if err := se.sw.Deploy(ctx, spec(1, 1, "v1"), &out); err != nil {
		t.Fatalf("deploy v1: %v\n%s", err, out.String())
	}
	if body, err := se.getVia(app); err != nil || body != "v1" {
		t.Fatalf("after deploying v1 the router answers %q, %v\n%s", body, err, out.String())
	}
	svc, _, err := se.sw.cli.ServiceInspectWithRaw(ctx, serviceName(app, "web"), swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkService(t, svc)

	load := se.startLoad(app, 4)
	step := func(name string, fn func() error) {
		t.Helper()
		begin := time.Now()
		out.Reset()
		if err := fn(); err != nil {
			load.stop()
			t.Fatalf("%s: %v\noutput:\n%s", name, err, out.String())
		}
		t.Logf("%s: %s", name, time.Since(begin).Round(10*time.Millisecond))
	}
	step("scale web=3", func() error { return se.sw.Scale(ctx, spec(1, 3, "v1"), &out) })
	if n := len(se.running(app)); n != 3 {
		t.Errorf("after scaling to 3, %d web tasks are routed", n)
	}
	step("config change (v2)", func() error { return se.sw.Deploy(ctx, spec(2, 3, "v2"), &out) })
	step("rollback to v1's image and config (v3)", func() error { return se.sw.Deploy(ctx, spec(3, 3, "v1"), &out) })
	step("restart", func() error { return se.sw.Restart(ctx, spec(3, 3, "v1"), "", &out) })

	broken := se.build(t, "wharf/"+app+":v4", "FROM "+swarmtestBusybox+"\nCMD exec sleep 600\n")
	bad := spec(4, 3, "v4")
	bad.Image = broken
	bad.Health = HealthCheck{Timeout: 5 * time.Second}
	out.Reset()
	err = se.sw.Deploy(ctx, bad, &out)
	if wharf.ErrorCode(err) != wharf.EINVALID || !strings.Contains(err.Error(), "rolled back") {
		t.Errorf("deploying a release that never listens: %v, want EINVALID saying it was rolled back\n%s", err, out.String())
	}
	step("scale web=1", func() error { return se.sw.Scale(ctx, spec(3, 1, "v1"), &out) })
	time.Sleep(time.Second)
	load.stop()

	t.Logf("FIGURE swarm lifecycle under load: %d requests through the router, %d failed; answers seen %v", load.ok.Load()+load.failed.Load(), load.failed.Load(), load.seen)
	if load.failed.Load() > 0 {
		t.Errorf("%d requests failed; first: %v", load.failed.Load(), load.errs)
	}
	if load.seen["v2"] == 0 || load.ok.Load() < 100 {
		t.Errorf("the load saw %v", load.seen)
	}
	if body, err := se.getVia(app); err != nil || body != "v1" {
		t.Errorf("at the end the router answers %q, %v; want v1", body, err)
	}
	ps, err := se.sw.Processes(ctx, app)
	if err != nil || len(ps) != 1 || ps[0].Release != 3 || ps[0].Node == "" || ps[0].State != stateRunning {
		t.Errorf("ps: %+v, %v; want web.1 of v3 running on a node", ps, err)
	}

	if err := se.sw.Destroy(ctx, app); err != nil {
		t.Fatal(err)
	}
	if list, _ := se.sw.cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: se.sw.filter(app)}); len(list) != 0 {
		t.Errorf("%d services left after destroy", len(list))
	}
}

const swarmtestBusybox = "wharf-test/busybox:latest"

// checkService checks what the web service of a deploy asks Swarm for.
func checkService(t *testing.T, svc swarm.Service) {
	t.Helper()
	s := svc.Spec
	cs := s.TaskTemplate.ContainerSpec
	u := s.UpdateConfig
	switch {
	case u == nil || u.Order != swarm.UpdateOrderStartFirst || u.FailureAction != swarm.UpdateFailureActionRollback:
		t.Errorf("update config %+v, want start-first with rollback", u)
	case cs.Healthcheck == nil || len(cs.Healthcheck.Test) == 0:
		t.Errorf("no health check")
	case cs.Init == nil || !*cs.Init || !slices.Equal(cs.CapabilityDrop, []string{"ALL"}):
		t.Errorf("init %v, dropped capabilities %v", cs.Init, cs.CapabilityDrop)
	case s.TaskTemplate.Resources == nil || s.TaskTemplate.Resources.Limits.MemoryBytes == 0 || s.TaskTemplate.Resources.Limits.Pids == 0:
		t.Errorf("limits %+v", s.TaskTemplate.Resources)
	case s.EndpointSpec == nil || len(s.EndpointSpec.Ports) != 1 || s.EndpointSpec.Ports[0].PublishMode != swarm.PortConfigPublishModeHost:
		t.Errorf("ports %+v, want one published in host mode", s.EndpointSpec)
	case s.Labels[wharf.LabelApp] == "" || s.Labels[wharf.LabelRelease] != "1" || cs.Labels[wharf.LabelProcess] != "web":
		t.Errorf("labels %v / %v", s.Labels, cs.Labels)
	}
}

// A task published on an engine with IPv6 lists its port twice, IPv4 first;
// the two may differ, and the router must dial the one of the node's family.
func TestPublishedPortPicksTheNodesFamily(t *testing.T) {
	ports := []swarm.PortConfig{
		{Protocol: swarm.PortConfigProtocolTCP, TargetPort: 5000, PublishedPort: 32794, PublishMode: swarm.PortConfigPublishModeHost},
		{Protocol: swarm.PortConfigProtocolTCP, TargetPort: 5000, PublishedPort: 32788, PublishMode: swarm.PortConfigPublishModeHost},
	}
	if got := publishedPort(ports, false); got != 32794 {
		t.Errorf("IPv4 node: port %d, want 32794", got)
	}
	if got := publishedPort(ports, true); got != 32788 {
		t.Errorf("IPv6 node: port %d, want 32788", got)
	}
	if got := publishedPort(ports[:1], true); got != 32794 {
		t.Errorf("IPv6 node, one binding: port %d, want 32794", got)
	}
	if got := publishedPort(nil, false); got != 0 {
		t.Errorf("no binding: port %d, want 0", got)
	}
}
