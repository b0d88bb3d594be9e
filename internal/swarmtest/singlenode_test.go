package swarmtest

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// A web service on the host engine's swarm: two replicas in host mode, each
// reached at 127.0.0.1:<its published port>; a start-first rolling update
// keeps answering; an update whose health check fails is rolled back; the
// service goes away when removed.
func TestSingleNodeService(t *testing.T) {
	cli := SingleNode(t)
	ctx := context.Background()
	name := UniqueName("wharf-swarmtest-web")
	repo := "wharf-swarmtest/" + name
	v1 := buildWeb(t, cli, repo+":v1", "v1", true)
	v2 := buildWeb(t, cli, repo+":v2", "v2", true)
	broken := buildWeb(t, cli, repo+":broken", "broken", false)

	start := time.Now()
	id := Service(t, cli, webService(name, v1, 2), swarm.ServiceCreateOptions{})
	eps := waitServing(t, cli, id, 2, "v1", loopback, time.Minute)
	t.Logf("2 tasks serving %s after %s", v1, time.Since(start).Round(time.Millisecond))
	if eps[0].Port == eps[1].Port {
		t.Errorf("both tasks published port %d", eps[0].Port)
	}
	for _, e := range eps {
		t.Logf("task %s: node.Status.Addr %q, published port %d", e.Task, e.NodeAddr, e.Port)
	}

	p := startProber(cli, id, loopback)
	start = time.Now()
	if st := update(t, cli, id, v2, 2*time.Minute); st != swarm.UpdateStateCompleted {
		t.Fatalf("update to v2 ended %s", st)
	}
	waitServing(t, cli, id, 2, "v2", loopback, 30*time.Second)
	t.Logf("start-first update v1 → v2 took %s; prober: %s", time.Since(start).Round(time.Millisecond), p.finish())
	if p.dark > 0 {
		t.Errorf("%d rounds without any task answering during the update; failures: %v", p.dark, p.failed)
	}
	for _, f := range p.failed {
		t.Logf("failed request (a task listed as running that no longer answered): %s", f)
	}

	p = startProber(cli, id, loopback)
	start = time.Now()
	if st := update(t, cli, id, broken, 2*time.Minute); st != swarm.UpdateStateRollbackCompleted {
		t.Fatalf("update to an unhealthy image ended %s, want %s", st, swarm.UpdateStateRollbackCompleted)
	}
	waitServing(t, cli, id, 2, "v2", loopback, 30*time.Second)
	t.Logf("unhealthy update rolled back after %s; prober: %s", time.Since(start).Round(time.Millisecond), p.finish())
	if p.dark > 0 || p.bodies["broken"] > 0 {
		t.Errorf("during the failed update: %d dark rounds, %d answers from the broken image", p.dark, p.bodies["broken"])
	}

	start = time.Now()
	if err := RemoveService(ctx, cli, id); err != nil {
		t.Fatal(err)
	}
	t.Logf("service and its containers removed in %s", time.Since(start).Round(time.Millisecond))
	// The freed ports are in the kernel's ephemeral range: a listener of a
	// test running beside this one may own one now, so only an answer from
	// this service counts.
	for _, e := range eps {
		if body, err := get(loopback(e)); err == nil && (body == "v1" || body == "v2" || body == "broken") {
			t.Errorf("%s still answers %q after the service was removed", loopback(e), body)
		}
	}
}
