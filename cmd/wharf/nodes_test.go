package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/web"
)

func TestNodesCommands(t *testing.T) {
	h := newHarness(t)
	for _, args := range [][]string{{"nodes"}, {"nodes:drain", "web-1"}, {"nodes:activate", "web-1"}} {
		mustContain(t, h.fail(args...), "nodes need a swarm: start wharfd with `wharfd serve --scheduler swarm`")
	}

	h.fake.SetNodes([]wharf.Node{
		{ID: "k2y6mz0xw8a4f7q1c3e5g9h0j", Hostname: "mgr", Role: "manager", Leader: true, State: "ready", Availability: "active", Addr: "10.0.0.1", Engine: "20.10.24", Tasks: 1},
		{ID: "p9r8s7t6u5v4w3x2y1z0a9b8c", Hostname: "web-1", Role: "worker", State: "ready", Availability: "active", Addr: "10.0.0.2", Engine: "20.10.24", Tasks: 2},
		{ID: "short", Hostname: "web-2", Role: "worker", State: "down", Availability: "active"},
	})
	lines := strings.Split(strings.TrimSpace(h.ok("nodes")), "\n")
	if len(lines) != 4 {
		t.Fatalf("nodes: want a header and 3 rows:\n%s", strings.Join(lines, "\n"))
	}
	assertAligned(t, lines)
	if f := strings.Join(strings.Fields(lines[0]), " "); f != "ID HOSTNAME ROLE STATE AVAILABILITY ADDRESS ENGINE TASKS" {
		t.Errorf("nodes header = %q", f)
	}
	for i, want := range []string{
		"k2y6mz0xw8a4 mgr manager (leader) ready active 10.0.0.1 20.10.24 1",
		"p9r8s7t6u5v4 web-1 worker ready active 10.0.0.2 20.10.24 2",
		"short web-2 worker down active - - 0",
	} {
		if f := strings.Join(strings.Fields(lines[i+1]), " "); f != want {
			t.Errorf("nodes row %d = %q, want %q", i+1, f, want)
		}
	}
	nodes := decodeJSON[[]wharf.Node](t, h.ok("nodes", "--json"))
	if len(nodes) != 3 || nodes[0].ID != "k2y6mz0xw8a4f7q1c3e5g9h0j" {
		t.Errorf("nodes --json = %+v", nodes)
	}

	out := h.ok("nodes:drain", "web-1")
	if out != "Node web-1 paused: no new tasks go there\nNode web-1 drained\n" {
		t.Errorf("nodes:drain printed %q, want the progress lines", out)
	}
	mustContain(t, h.ok("nodes"), "web-1", "drain", "mgr", "3")
	res := decodeJSON[web.NodeAction](t, h.ok("nodes:activate", "p9r8s7", "--json"))
	if res.Node != "p9r8s7" || len(res.Output) == 0 {
		t.Errorf("nodes:activate --json = %+v", res)
	}
	mustContain(t, h.ok("activity"), "drained node web-1", "activated node p9r8s7")
	mustContain(t, h.fail("nodes:drain", "nope"), `no node "nope" in the swarm`)
	mustContain(t, h.fail("nodes:drain"), "usage: wharf nodes:drain NODE")
	mustContain(t, h.fail("nodes:activate", "a", "b"), "usage: wharf nodes:activate NODE")

	// Members are refused.
	h.ok("users:add", "bob", "--password", "bob-password")
	h.env["WHARF_TOKEN"] = "token-of-bob"
	mustContain(t, h.fail("nodes"), "only admins may do this")
	mustContain(t, h.fail("nodes:drain", "web-1"), "only admins may do this")
	mustContain(t, h.ok("help"), "nodes:drain NODE", "ps:placement -a APP [CONSTRAINT...] [--clear]")
}

func TestPlacementCommand(t *testing.T) {
	h := newHarness(t)
	h.ok("apps:create", "shop")
	out := h.ok("ps:placement", "-a", "shop")
	mustContain(t, out, "shop has no placement constraints: its processes may run on any node.", "Note: stored; placement takes effect on a swarm only")

	out = h.ok("ps:placement", "-a", "shop", "node.labels.tier==web", "node.role != manager")
	mustContain(t, out, "Placement of shop set: node.labels.tier==web node.role!=manager.", "takes effect on a swarm only")
	if strings.Contains(out, "Applied") {
		t.Errorf("placement on the docker scheduler claims it was applied:\n%s", out)
	}
	out = h.ok("ps:placement", "-a", "shop")
	mustContain(t, out, "shop runs only on nodes where:\n  node.labels.tier==web\n  node.role!=manager\n")
	p := decodeJSON[web.Placement](t, h.ok("ps:placement", "-a", "shop", "--json"))
	if !slices.Equal(p.Constraints, []string{"node.labels.tier==web", "node.role!=manager"}) {
		t.Errorf("ps:placement --json = %+v", p)
	}

	msg := h.fail("ps:placement", "-a", "shop", "tier=web")
	mustContain(t, msg, `invalid placement constraint "tier=web": constraints must match `+wharf.PlacementRule)
	mustContain(t, h.fail("ps:placement", "-a", "shop", "node.role==boss"), "node.role is manager or worker")
	mustContain(t, h.fail("ps:placement", "-a", "shop", "--clear", "node.role==worker"), "give constraints or --clear, not both")
	mustContain(t, h.fail("ps:placement", "-a", "nope"), `app "nope" not found`)

	// On a swarm a deployed app's change is applied at once.
	h.fake.SetNodes([]wharf.Node{{ID: "n1", Hostname: "web-1", State: "ready", Availability: "active"}})
	h.fake.Deploy("shop", wharf.Release{Version: 2, Status: wharf.ReleaseDeployed}, nil)
	out = h.ok("ps:placement", "-a", "shop", "node.hostname==web-1")
	mustContain(t, out, "Placement of shop set: node.hostname==web-1.", "Applied to the running release:\n  Scaling service wharf-shop-web")
	if strings.Contains(out, "Note:") {
		t.Errorf("an applied placement has a note:\n%s", out)
	}
	mustContain(t, h.ok("ps:placement", "-a", "shop", "--clear"), "Placement of shop cleared: its processes may run on any node.")
	mustContain(t, h.ok("ps:placement", "-a", "shop"), "shop has no placement constraints")
	mustContain(t, h.ok("activity", "-a", "shop"), "set placement node.hostname==web-1")
}

func TestPsShowsNodes(t *testing.T) {
	h := newHarness(t)
	h.ok("apps:create", "hello")
	now := time.Now()
	h.fake.Deploy("hello", wharf.Release{Version: 3, Status: wharf.ReleaseDeployed}, []wharf.Process{
		{Type: "web", Instance: 1, Release: 3, State: "running", Node: "web-1", ContainerName: "wharf-hello-web.1.abc", StartedAt: now.Add(-time.Minute)},
		{Type: "web", Instance: 2, Release: 3, State: "starting", ContainerName: "wharf-hello-web.2.def"},
	})
	lines := strings.Split(strings.TrimSpace(h.ok("ps", "-a", "hello")), "\n")
	if len(lines) != 3 {
		t.Fatalf("ps: want a header and 2 rows:\n%s", strings.Join(lines, "\n"))
	}
	assertAligned(t, lines)
	if f := strings.Join(strings.Fields(lines[0]), " "); f != "PROCESS STATE RELEASE UPTIME RESTARTS NODE CONTAINER" {
		t.Errorf("ps header = %q", f)
	}
	if f := strings.Join(strings.Fields(lines[1]), " "); f != "web.1 running v3 1m0s 0 web-1 wharf-hello-web.1.abc" {
		t.Errorf("ps row = %q", f)
	}
	if f := strings.Join(strings.Fields(lines[2]), " "); f != "web.2 starting v3 - 0 - wharf-hello-web.2.def" {
		t.Errorf("ps row of a process without a node = %q", f)
	}
	mustContain(t, h.ok("apps:info", "-a", "hello"), "NODE", "web-1")
}
