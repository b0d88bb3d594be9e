package web_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/web"
)

var testNodes = []wharf.Node{
	{ID: "n1aaaaaaaaaaaaaaaaaaaaaaa", Hostname: "mgr", Role: "manager", Leader: true, State: "ready", Availability: "active", Addr: "10.0.0.1", Engine: "20.10.24", Tasks: 1},
	{ID: "n2bbbbbbbbbbbbbbbbbbbbbbb", Hostname: "web-1", Role: "worker", State: "ready", Availability: "active", Addr: "10.0.0.2", Engine: "20.10.24", Tasks: 2},
}

func TestNodeRoutes(t *testing.T) {
	e := newEnv(t)
	// Without a swarm every node route says what it takes.
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/nodes"}, {"POST", "/api/v1/nodes/web-1/drain"}, {"POST", "/api/v1/nodes/web-1/activate"},
	} {
		res := e.api(r.method, r.path, "")
		expect(t, res, http.StatusBadRequest, wharf.EINVALID)
		if msg, _ := res.errorBody(t); !strings.Contains(msg, "wharfd serve --scheduler swarm") {
			t.Errorf("%s %s without a swarm: %q, want it to name --scheduler swarm", r.method, r.path, msg)
		}
	}

	e.fake.SetNodes(testNodes)
	nodes := decode[[]wharf.Node](t, e.api("GET", "/api/v1/nodes", ""))
	if len(nodes) != 2 || nodes[0].Hostname != "mgr" || !nodes[0].Leader || nodes[1].Tasks != 2 {
		t.Errorf("nodes = %+v", nodes)
	}
	res := e.api("POST", "/api/v1/nodes/web-1/drain", "")
	expect(t, res, http.StatusOK, "")
	drain := decode[web.NodeAction](t, res)
	if drain.Node != "web-1" || len(drain.Output) != 2 || drain.Output[1] != "Node web-1 drained" {
		t.Errorf("drain answer = %+v, want the progress lines", drain)
	}
	nodes = decode[[]wharf.Node](t, e.api("GET", "/api/v1/nodes", ""))
	if nodes[1].Availability != "drain" || nodes[1].Tasks != 0 || nodes[0].Tasks != 3 {
		t.Errorf("after the drain: %+v", nodes)
	}
	act := decode[web.NodeAction](t, e.api("POST", "/api/v1/nodes/n2bbbb/activate", ""))
	if act.Node != "n2bbbb" || len(act.Output) != 1 {
		t.Errorf("activate answer = %+v", act)
	}
	expect(t, e.api("POST", "/api/v1/nodes/nope/drain", ""), http.StatusNotFound, wharf.ENOTFOUND)
	expect(t, e.api("GET", "/api/v1/nodes/web-1/drain", ""), http.StatusMethodNotAllowed, "")

	// Members may not see or change nodes.
	expect(t, e.api("POST", "/api/v1/users", `{"name":"bob","role":"member","password":"bob-password"}`), http.StatusCreated, "")
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/nodes"}, {"POST", "/api/v1/nodes/web-1/drain"}, {"POST", "/api/v1/nodes/web-1/activate"},
	} {
		expect(t, e.do(r.method, r.path, "Bearer token-of-bob", ""), http.StatusForbidden, wharf.EFORBIDDEN)
	}
	if nodes := decode[[]wharf.Node](t, e.api("GET", "/api/v1/nodes", "")); nodes[1].Availability != "active" {
		t.Errorf("a member's drain went through: %+v", nodes[1])
	}
}

func TestPlacementRoutes(t *testing.T) {
	e := newEnv(t)
	expect(t, e.api("POST", "/api/v1/apps", `{"name":"shop"}`), http.StatusCreated, "")
	p := decode[web.Placement](t, e.api("GET", "/api/v1/apps/shop/placement", ""))
	if p.App != "shop" || p.Constraints == nil || len(p.Constraints) != 0 || !strings.Contains(p.Note, "swarm only") {
		t.Errorf("a new app's placement = %+v, want [] and the swarm-only note", p)
	}

	res := e.api("PUT", "/api/v1/apps/shop/placement", `{"constraints":["node.labels.tier == web","node.role!=manager"]}`)
	expect(t, res, http.StatusOK, "")
	p = decode[web.Placement](t, res)
	if !slices.Equal(p.Constraints, []string{"node.labels.tier==web", "node.role!=manager"}) || p.Applied || !strings.Contains(p.Note, "takes effect on a swarm only") {
		t.Errorf("set on the docker scheduler = %+v, want stored, normalized, not applied, with the note", p)
	}

	res = e.api("PUT", "/api/v1/apps/shop/placement", `{"constraints":["tier=web"]}`)
	expect(t, res, http.StatusBadRequest, wharf.EINVALID)
	if msg, _ := res.errorBody(t); !strings.Contains(msg, wharf.PlacementRule) || !strings.Contains(msg, `"tier=web"`) {
		t.Errorf("bad constraint message %q does not quote it and the rule", msg)
	}
	res = e.api("PUT", "/api/v1/apps/shop/placement", `{}`)
	expect(t, res, http.StatusBadRequest, wharf.EINVALID)
	if msg, _ := res.errorBody(t); !strings.Contains(msg, `{"constraints": []}`) {
		t.Errorf("missing constraints: %q, want how to clear", msg)
	}
	expect(t, e.api("PUT", "/api/v1/apps/shop/placement", `{"constraints":"node.role==worker"}`), http.StatusBadRequest, wharf.EINVALID)
	if p := decode[web.Placement](t, e.api("GET", "/api/v1/apps/shop/placement", "")); len(p.Constraints) != 2 {
		t.Errorf("refused requests changed the placement: %+v", p)
	}

	// On a swarm, a deployed app's change is applied at once.
	e.fake.SetNodes(testNodes)
	e.fake.Deploy("shop", wharf.Release{Version: 1, Status: wharf.ReleaseDeployed}, nil)
	p = decode[web.Placement](t, e.api("PUT", "/api/v1/apps/shop/placement", `{"constraints":["node.hostname==web-1"]}`))
	if !p.Applied || p.Note != "" || len(p.Output) == 0 {
		t.Errorf("set on a swarm = %+v, want applied", p)
	}
	p = decode[web.Placement](t, e.api("PUT", "/api/v1/apps/shop/placement", `{"constraints":[]}`))
	if p.Constraints == nil || len(p.Constraints) != 0 {
		t.Errorf("cleared = %+v, want []", p)
	}

	expect(t, e.api("GET", "/api/v1/apps/nope/placement", ""), http.StatusNotFound, wharf.ENOTFOUND)
	expect(t, e.api("PUT", "/api/v1/apps/nope/placement", `{"constraints":[]}`), http.StatusNotFound, wharf.ENOTFOUND)
	// A member without access to the app is refused.
	expect(t, e.api("POST", "/api/v1/users", `{"name":"eve","role":"member","password":"eve-password"}`), http.StatusCreated, "")
	expect(t, e.do("PUT", "/api/v1/apps/shop/placement", "Bearer token-of-eve", `{"constraints":[]}`), http.StatusForbidden, wharf.EFORBIDDEN)
}
