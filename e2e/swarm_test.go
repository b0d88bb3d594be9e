package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/internal/swarmtest"
	"github.com/wharfhq/wharf/internal/testenv"
)

// newSwarmEnv is newReleaseEnv with wharfd serve --scheduler swarm on the
// host engine's one-node swarm; the app's services go when the test ends.
func newSwarmEnv(t *testing.T, prefix string, args ...string) *releaseEnv {
	t.Helper()
	cli := swarmtest.SingleNode(t)
	testenv.Busybox(t)
	docker := testenv.Docker(t)
	d := newDaemon(t)
	d.args = append([]string{"--scheduler", "swarm"}, args...)
	app := uniqueApp(prefix)
	t.Cleanup(func() { removeServices(cli, app) })
	d.start(t)
	p := newPusher(t, d.sshAddr)
	t.Cleanup(func() { removeAppContainers(docker, app); removeAppImages(docker, app) })
	if out, err := d.cli(t, "keys:add", p.key+".pub"); err != nil {
		t.Fatalf("keys:add: %v\n%s", err, out)
	}
	p.git(t, "remote", "add", "wharf", "ssh://git@"+d.sshAddr+"/"+app+".git")
	return &releaseEnv{d: d, p: p, app: app, docker: docker}
}

func removeServices(cli *client.Client, app string) {
	ctx := context.Background()
	list, _ := cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("label", wharf.LabelApp+"="+app))})
	for _, s := range list {
		swarmtest.RemoveService(ctx, cli, s.ID)
	}
}

// swarmProcesses is `wharf ps --json` of the app.
func (e *releaseEnv) swarmProcesses(t *testing.T) []wharf.Process {
	t.Helper()
	var ps []wharf.Process
	if err := json.Unmarshal([]byte(e.wharf(t, "ps", "-a", e.app, "--json")), &ps); err != nil {
		t.Fatal(err)
	}
	return ps
}

// TestSwarmZeroDowntime is the Swarm issue's first acceptance test: on a
// one-node swarm, push, push again, scale to 3, change config, roll back,
// restart and scale back, with steady traffic through the router; a
// release that never listens is refused and rolled back. Not one request
// may fail.
func TestSwarmZeroDowntime(t *testing.T) {
	e := newSwarmEnv(t, "swarm")
	first := e.push(t, "v0", procfileApp("v0\n"))
	waitStatus(t, e.d, e.host(), 200)
	svc := fmt.Sprintf("wharf-%s-web", e.app)
	ps := e.swarmProcesses(t)
	if len(ps) != 1 || ps[0].Node == "" || !strings.HasPrefix(ps[0].ContainerName, svc+".") {
		t.Fatalf("ps after the first push: %+v; want web.1 (workers start at 0) as a task of %s on a node", ps, svc)
	}

	l := startLoad(e.d.httpAddr, e.host(), 4, 40*time.Millisecond, 8*time.Minute, 100000)
	timed := func(name string, fn func()) string {
		start := time.Now()
		fn()
		return fmt.Sprintf("%s %.1fs", name, time.Since(start).Seconds())
	}
	cli := func(args ...string) func() { return func() { e.wharf(t, args...) } }
	steps := []string{
		timed("push v1", func() { e.push(t, "v1", map[string]string{"index.html": "v1\n"}) }),
		timed("ps:scale web=3 worker=1", cli("ps:scale", "-a", e.app, "web=3", "worker=1")),
		timed("config:set", cli("config:set", "-a", e.app, "GREETING=hello")),
		timed("rollback", cli("rollback", "-a", e.app)),
		timed("ps:restart", cli("ps:restart", "-a", e.app)),
	}
	e.p.commit(t, "never listens", map[string]string{"Procfile": "web: sleep 600\n"})
	out, err := e.p.gitErr("push", "wharf", "main")
	if err == nil || !strings.Contains(out, "rolled back") {
		t.Errorf("a release whose web never listens: push err %v, want it refused and rolled back:\n%s", err, out)
	}
	steps = append(steps, timed("ps:scale web=1", cli("ps:scale", "-a", e.app, "web=1")))
	time.Sleep(time.Second)
	n, failed, samples := l.finish()
	t.Logf("FIGURE swarm load: %d requests through the router, %d failed", n, failed)
	t.Logf("FIGURE swarm timings: first push %.1fs; %s", first.Seconds(), strings.Join(steps, "; "))
	if failed > 0 || n == 0 {
		t.Errorf("%d of %d requests failed; first failures:\n%s", failed, n, strings.Join(samples, "\n"))
	}
	ps = e.swarmProcesses(t)
	webs := 0
	for _, p := range ps {
		if p.Type == "web" && p.State == "running" {
			webs++
		}
	}
	if webs != 1 {
		t.Errorf("after scale web=1: %d web tasks running: %+v", webs, ps)
	}
	expectBody(t, e.d, e.host(), "v1\n")
	e.wharf(t, "apps:destroy", "-a", e.app, "--confirm", e.app)
	if list, _ := swarmtest.SingleNode(t).ServiceList(context.Background(), swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("label", wharf.LabelApp+"="+e.app))}); len(list) != 0 {
		t.Errorf("%d services left after apps:destroy", len(list))
	}
}
