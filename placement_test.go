package wharf

import (
	"slices"
	"strings"
	"testing"
)

func TestValidatePlacement(t *testing.T) {
	for in, want := range map[string]string{
		"node.labels.tier==web":        "node.labels.tier==web",
		"node.role!=manager":           "node.role!=manager",
		"node.role == worker":          "node.role==worker",
		" node.hostname==web-1 ":       "node.hostname==web-1",
		"node.id==2ovzpk7mhyqq":        "node.id==2ovzpk7mhyqq",
		"node.platform.os==linux":      "node.platform.os==linux",
		"node.platform.arch!=aarch64":  "node.platform.arch!=aarch64",
		"engine.labels.disk==ssd":      "engine.labels.disk==ssd",
		"node.labels.zone.eu_1==a:b/c": "node.labels.zone.eu_1==a:b/c",
	} {
		if got, err := ValidatePlacement(in); err != nil || got != want {
			t.Errorf("ValidatePlacement(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{
		"",
		"node.labels.tier",             // no operator
		"node.labels.tier=web",         // one =
		"node.labels.tier>=web",        // not an operator Swarm has
		"node.labels==web",             // no label key
		"node.labels.==web",            // empty label key
		"node.ip==10.0.0.1",            // not an attribute Wharf allows
		"container.labels.a==b",        // not an attribute
		"node.labels.tier==",           // no value
		"node.labels.tier==web app",    // space in the value
		"node.labels.tier==web;rm",     // ; in the value
		"node.labels.t ier==web",       // space in the key
		"NODE.ROLE==manager",           // attributes are lowercase
		"node.role==boss",              // not a role
		"node.labels.a==b\nnode.id==c", // two lines
		"node.labels.x==" + strings.Repeat("a", 255),
	} {
		_, err := ValidatePlacement(bad)
		if ErrorCode(err) != EINVALID {
			t.Errorf("ValidatePlacement(%q) = %v, want EINVALID", bad, err)
			continue
		}
		if !strings.Contains(err.Error(), PlacementRule) && !strings.Contains(err.Error(), "manager or worker") {
			t.Errorf("ValidatePlacement(%q): %q does not quote the rule", bad, err)
		}
	}
	_, err := ValidatePlacement("node.labels.tier=web")
	if want := `invalid placement constraint "node.labels.tier=web": constraints must match ` + PlacementRule; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q, want it to start with %q", err, want)
	}
}

func TestParsePlacement(t *testing.T) {
	got, err := ParsePlacement([]string{"node.labels.tier == web", "node.role!=manager", "node.labels.tier==web"})
	if err != nil || !slices.Equal(got, []string{"node.labels.tier==web", "node.role!=manager"}) {
		t.Errorf("ParsePlacement = %q, %v; want normalized, in order, without the duplicate", got, err)
	}
	if got, err := ParsePlacement(nil); err != nil || got == nil || len(got) != 0 {
		t.Errorf("ParsePlacement(nil) = %#v, %v; want an empty list", got, err)
	}
	if _, err := ParsePlacement([]string{"node.role!=manager", "tier=web"}); ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), `"tier=web"`) {
		t.Errorf("a bad constraint among good ones: %v, want EINVALID naming it", err)
	}
	many := make([]string, MaxPlacement+1)
	for i := range many {
		many[i] = "node.labels.k" + strings.Repeat("x", i) + "==v"
	}
	if _, err := ParsePlacement(many); ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "at most 32") {
		t.Errorf("%d constraints: %v, want EINVALID", len(many), err)
	}
}

func TestNodeMatches(t *testing.T) {
	n := Node{ID: "abc123", Hostname: "web-1", Role: "worker", Labels: map[string]string{"tier": "Web"}}
	for _, tt := range []struct {
		constraints []string
		want        bool
	}{
		{nil, true},
		{[]string{"node.labels.tier==web"}, true}, // case-insensitive, as Swarm
		{[]string{"node.labels.tier!=web"}, false},
		{[]string{"node.labels.zone==eu"}, false},
		{[]string{"node.labels.zone!=eu"}, true}, // a missing label is ""
		{[]string{"node.role!=manager", "node.hostname==web-1"}, true},
		{[]string{"node.role!=manager", "node.hostname==web-2"}, false},
		{[]string{"node.id==abc123"}, true},
		{[]string{"node.platform.os==windows", "engine.labels.disk==ssd"}, true}, // unknown here: Swarm decides
	} {
		if got := n.Matches(tt.constraints); got != tt.want {
			t.Errorf("Matches(%q) = %v, want %v", tt.constraints, got, tt.want)
		}
	}
}
