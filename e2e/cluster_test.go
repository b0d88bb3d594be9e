package e2e

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/internal/swarmtest"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestClusterNodeLoss is the Swarm issue's multi-node acceptance test
// (make test-cluster, and make test in CI): three Docker Engines in
// containers as one swarm, wharfd on the host driving the manager and
// serving the built-in registry the nodes pull from. The app's three web
// tasks spread over the three nodes; under load through the router a node
// is drained with no failed request, activated again, then a node is
// killed: its task is rescheduled and the app keeps answering.
func TestClusterNodeLoss(t *testing.T) {
	swarmtest.NeedCluster(t)
	testenv.Busybox(t)
	s := swarmtest.Cluster(t, 3)
	t.Logf("FIGURE cluster: 3-node swarm up in %s", s.Started.Round(time.Millisecond))
	ctx := context.Background()
	mgr := s.Manager()
	if err := s.LoadImage(ctx, mgr, testenv.BusyboxImage); err != nil {
		t.Fatal(err)
	}
	registry := net.JoinHostPort(s.Gateway, portOf(freeAddr(t)))
	d := newDaemon(t)
	d.env = []string{"DOCKER_HOST=tcp://" + mgr.IP + ":2375"}
	d.args = []string{"--scheduler", "swarm", "--registry-listen", registry}
	d.start(t)
	p := newPusher(t, d.sshAddr)
	app := uniqueApp("cluster")
	e := &releaseEnv{d: d, p: p, app: app}
	e.wharf(t, "keys:add", p.key+".pub")
	p.git(t, "remote", "add", "wharf", "ssh://git@"+d.sshAddr+"/"+app+".git")

	files := dockerfileApp("v1\n")
	files["Procfile"] = "web: httpd -f -p $PORT -h /www\nworker: sh -c 'while true; do echo tick from $(hostname); sleep 1; done'\n"
	_, out := e.pushOut(t, "v1", files)
	if !strings.Contains(out, "Pushing "+registry+"/wharf/"+app+":v1") {
		t.Errorf("the push did not send the image to the built-in registry:\n%s", out)
	}
	start := time.Now()
	// The first scale of a process type makes a release (a rolling update
	// of web); a plain scale of web then spreads the new tasks.
	e.wharf(t, "ps:scale", "-a", app, "worker=3")
	e.wharf(t, "ps:scale", "-a", app, "web=3")
	t.Logf("FIGURE cluster: scale to worker=3, then web=3 (nodes pull from the registry) %.1fs", time.Since(start).Seconds())
	nodes := webNodes(e.swarmProcesses(t))
	if len(nodes) != 3 {
		tasks, _ := mgr.Client.TaskList(ctx, swarm.TaskListOptions{})
		for _, tk := range tasks {
			t.Logf("task %s slot %d node %s desired %s state %s err %q", tk.ServiceID[:6], tk.Slot, tk.NodeID[:6], tk.DesiredState, tk.Status.State, tk.Status.Err)
		}
		t.Fatalf("3 web tasks run on %d nodes (%v), want one on each", len(nodes), nodes)
	}
	// wharf logs reads every task's output, whichever node it runs on.
	var logs string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		if logs = e.wharf(t, "logs", "-a", app, "-n", "200"); strings.Contains(logs, "worker.1: tick") &&
			strings.Contains(logs, "worker.2: tick") && strings.Contains(logs, "worker.3: tick") {
			break
		}
	}
	for i := 1; i <= 3; i++ {
		if want := fmt.Sprintf("worker.%d: tick from worker.%d.%s", i, i, app); !strings.Contains(logs, want) {
			t.Errorf("wharf logs lacks %q (the workers run on three nodes):\n%s", want, logs)
		}
	}

	l := startLoad(d.httpAddr, e.host(), 4, 20*time.Millisecond, 10*time.Minute, 1000000)
	drained := s.Nodes[1].Name
	start = time.Now()
	e.wharf(t, "nodes:drain", drained)
	t.Logf("FIGURE cluster: nodes:drain %s took %.1fs", drained, time.Since(start).Seconds())
	if n := webNodes(e.swarmProcesses(t)); n[drained] != 0 || countRunning(e.swarmProcesses(t)) != 3 {
		t.Errorf("after draining %s: web tasks per node %v", drained, n)
	}
	n, failed, samples := l.finish()
	t.Logf("FIGURE cluster: drain under load: %d requests, %d failed", n, failed)
	if failed > 0 {
		t.Errorf("%d of %d requests failed while draining a node:\n%s", failed, n, strings.Join(samples, "\n"))
	}
	e.wharf(t, "nodes:activate", drained)

	// Kill a node that runs a task: its engine and containers die at once.
	var victim *swarmtest.Node
	for _, node := range s.Nodes[1:] {
		if webNodes(e.swarmProcesses(t))[node.Name] > 0 {
			victim = node
			break
		}
	}
	if victim == nil {
		t.Fatalf("no worker runs a web task: %v", webNodes(e.swarmProcesses(t)))
	}
	l = startLoad(d.httpAddr, e.host(), 4, 20*time.Millisecond, 10*time.Minute, 1000000)
	killed := time.Now()
	if err := s.Kill(ctx, victim); err != nil {
		t.Fatal(err)
	}
	var rescheduled time.Duration
	for time.Since(killed) < 2*time.Minute {
		ps := e.swarmProcesses(t)
		if running := webNodes(ps); running[victim.Name] == 0 && countRunning(ps) == 3 {
			rescheduled = time.Since(killed)
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	n, failed, samples = l.finish()
	t.Logf("FIGURE cluster: node %s killed: 3 web tasks running again on the other nodes after %.1fs; %d requests meanwhile, %d failed",
		victim.Name, rescheduled.Seconds(), n, failed)
	if rescheduled == 0 {
		t.Errorf("the killed node's task was not rescheduled within 2 minutes: %+v", e.swarmProcesses(t))
	}
	if failed > n/20 {
		t.Errorf("%d of %d requests failed after a node died (more than 5%%):\n%s", failed, n, strings.Join(samples, "\n"))
	}
	expectBody(t, d, e.host(), "v1\n")
	if out := e.wharf(t, "nodes"); !strings.Contains(out, victim.Name) || !strings.Contains(out, "down") {
		t.Errorf("wharf nodes does not show %s down:\n%s", victim.Name, out)
	}
}

// webNodes counts the running web tasks per node.
func webNodes(ps []wharf.Process) map[string]int {
	m := map[string]int{}
	for _, p := range ps {
		if p.Type == "web" && p.State == "running" {
			m[p.Node]++
		}
	}
	return m
}

func countRunning(ps []wharf.Process) int {
	n := 0
	for _, c := range webNodes(ps) {
		n += c
	}
	return n
}
