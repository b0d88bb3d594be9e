package main

import (
	"maps"
	"testing"

	"github.com/wharfhq/wharf"
)

func TestFormationOf(t *testing.T) {
	rel := wharf.Release{ProcessTypes: map[string]string{"web": "httpd", "worker": "work", "release": "migrate"}}
	got := formationOf(rel, []wharf.Formation{{Type: "worker", Quantity: 2, Memory: 64 << 20}, {Type: "gone", Quantity: 5}})
	want := []wharf.Formation{{Type: "web", Quantity: 1, Command: "httpd"}, {Type: "worker", Quantity: 2, Memory: 64 << 20, Command: "work"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("formationOf = %+v, want %+v", got, want)
	}
	if got := processTypes(wharf.Release{}); !maps.Equal(got, map[string]string{"web": ""}) {
		t.Errorf("processTypes without a Procfile = %v", got)
	}
	if err := checkTypes(rel, "clock"); err == nil || wharf.ErrorMessage(err) != `unknown process type "clock": v0 of  has web, worker` {
		t.Errorf("checkTypes = %v", err)
	}
}

func TestHealthOf(t *testing.T) {
	rel := wharf.Release{Health: wharf.HealthCheck{Path: "/health", Timeout: 5, Attempts: 3},
		Config: map[string]string{"WHARF_HEALTHCHECK_PATH": "/up", "WHARF_HEALTHCHECK_TIMEOUT": "30"}}
	if got := healthOf(rel); got != (wharf.HealthCheck{Path: "/up", Timeout: 30, Attempts: 3}) {
		t.Errorf("healthOf = %+v", got)
	}
	rel.Config["WHARF_HEALTHCHECK_PATH"] = "no-slash"
	if got := healthOf(rel); got != rel.Health {
		t.Errorf("healthOf with an invalid override = %+v, want the app.json check", got)
	}
	for cfg, ok := range map[string]bool{"5": true, "0": false, "x": false, "-1": false} {
		err := healthFromConfig(map[string]string{"WHARF_HEALTHCHECK_ATTEMPTS": cfg})
		if (err == nil) != ok {
			t.Errorf("healthFromConfig(ATTEMPTS=%s) = %v", cfg, err)
		}
	}
}
