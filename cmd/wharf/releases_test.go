package main

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf"
)

func TestConfigCommands(t *testing.T) {
	h := newHarness(t)
	h.ok("apps:create", "hello")
	mustContain(t, h.ok("config", "-a", "hello"), "hello has no config vars")
	mustContain(t, h.ok("config:set", "-a", "hello", "SECRET=s3cr3t", "EMPTY="), "Config of hello stored; it has no release yet")
	h.fake.AddRelease("hello", wharf.Release{Image: "wharf/hello:1", Description: "Deploy abc"})
	out := h.ok("config:set", "-a", "hello", "DB_URL=postgres://x")
	mustContain(t, out, "Config of hello changed; deployed as v2.", "DB_URL", "********", "(empty)")
	if strings.Contains(out, "s3cr3t") || strings.Contains(h.ok("config", "-a", "hello"), "s3cr3t") {
		t.Errorf("a config value was shown unmasked:\n%s", out)
	}
	if got := decodeJSON[map[string]string](t, h.ok("config:get", "-a", "hello", "SECRET", "--json")); got["SECRET"] != "s3cr3t" || len(got) != 1 {
		t.Errorf("config:get --json = %v", got)
	}
	if got := h.ok("config:get", "-a", "hello", "SECRET"); got != "s3cr3t\n" {
		t.Errorf("config:get = %q", got)
	}
	cfg := decodeJSON[map[string]string](t, h.ok("config", "-a", "hello", "--json"))
	if cfg["SECRET"] != "s3cr3t" || cfg["DB_URL"] != "postgres://x" {
		t.Errorf("config --json = %v", cfg)
	}
	mustContain(t, h.fail("config:set", "-a", "hello", "1BAD=x"), `invalid config var name "1BAD": names must match ^[A-Za-z_][A-Za-z0-9_]*$`)
	mustContain(t, h.fail("config:set", "-a", "hello", "PORT=1"), "PORT is reserved")
	mustContain(t, h.fail("config:set", "-a", "hello", "NOEQUALS"), `"NOEQUALS" is not KEY=VALUE`)
	mustContain(t, h.fail("config:get", "-a", "hello", "NOPE"), "hello has no config var NOPE")
	mustContain(t, h.fail("config:unset", "-a", "hello", "NOPE"), "hello has no config var NOPE")
	mustContain(t, h.ok("config:unset", "-a", "hello", "SECRET", "--no-restart"), "it applies at the next deploy")
	if cfg := decodeJSON[map[string]string](t, h.ok("config", "-a", "hello", "--json")); len(cfg) != 2 {
		t.Errorf("after unset: %v", cfg)
	}
}

func TestReleasesAndRollback(t *testing.T) {
	h := newHarness(t)
	h.ok("apps:create", "hello")
	mustContain(t, h.ok("releases", "-a", "hello"), "hello has no releases yet")
	mustContain(t, h.fail("rollback", "-a", "hello"), "hello has no release yet")
	h.fake.AddRelease("hello", wharf.Release{Image: "i:1", CreatedBy: "alice", Description: "Deploy aaa"})
	h.fake.AddRelease("hello", wharf.Release{Image: "i:2", CreatedBy: "alice", Description: "Deploy bbb", Status: wharf.ReleaseFailed})
	h.fake.AddRelease("hello", wharf.Release{Image: "i:3", CreatedBy: "bob", Description: "Deploy ccc"})
	lines := strings.Split(strings.TrimSpace(h.ok("releases", "-a", "hello")), "\n")
	assertAligned(t, lines)
	if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "VERSION CREATED BY STATUS DESCRIPTION" ||
		!strings.HasPrefix(lines[1], "v3") || !strings.Contains(lines[2], "failed") {
		t.Errorf("releases:\n%s", strings.Join(lines, "\n"))
	}
	mustContain(t, h.ok("rollback", "-a", "hello"), "hello: Rollback to v1, deployed as v4.")
	mustContain(t, h.ok("rollback", "-a", "hello", "v3"), "Rollback to v3, deployed as v5.")
	mustContain(t, h.fail("rollback", "-a", "hello", "vx"), `invalid release "vx"`)
	rels := decodeJSON[[]wharf.Release](t, h.ok("releases", "-a", "hello", "--json"))
	if len(rels) != 5 || rels[0].Image != "i:3" || rels[1].Image != "i:1" {
		t.Errorf("releases --json = %+v", rels)
	}
}

func TestScaleResourcesStorage(t *testing.T) {
	h := newHarness(t)
	h.ok("apps:create", "hello")
	h.fake.AddRelease("hello", wharf.Release{Image: "i:1", ProcessTypes: map[string]string{"web": "httpd", "worker": "sleep 1", "release": "./migrate"}})
	out := h.ok("ps:scale", "-a", "hello", "web=3", "worker=1")
	mustContain(t, out, "Scaled hello.", "web     3", "worker  1")
	mustContain(t, h.fail("ps:scale", "-a", "hello", "clock=1"), `unknown process type "clock": hello has web, worker`)
	mustContain(t, h.fail("ps:scale", "-a", "hello", "web=-1"), `"web=-1" is not TYPE=N`)
	mustContain(t, h.ok("ps:restart", "-a", "hello", "worker"), "Restarted worker processes of hello.")
	mustContain(t, h.ok("ps:restart", "-a", "hello"), "Restarted all processes of hello.")
	if r := h.fake.Restarts(); strings.Join(r, ",") != "hello/worker,hello/" {
		t.Errorf("restarts = %v", r)
	}
	mustContain(t, h.ok("resources:set", "-a", "hello", "web", "--memory", "256m", "--cpus", "0.5"), "apply at the next deploy", "256m", "0.5")
	mustContain(t, h.fail("resources:set", "-a", "hello", "web", "--memory", "lots"), `invalid memory "lots"`)
	mustContain(t, h.fail("resources:set", "-a", "hello", "web"), "give --memory and/or --cpus")
	f := decodeJSON[[]wharf.Formation](t, h.ok("resources", "-a", "hello", "--json"))
	if len(f) != 2 || f[0].Type != "web" || f[0].Memory != 256<<20 || f[0].Quantity != 3 {
		t.Errorf("resources --json = %+v", f)
	}
	mustContain(t, h.ok("storage", "-a", "hello"), "hello has no volumes")
	mustContain(t, h.ok("storage:mount", "-a", "hello", "data:/var/lib/data"), "Volume data will be mounted at /var/lib/data")
	mustContain(t, h.fail("storage:mount", "-a", "hello", "data:/x"), `volume "data" is already mounted`)
	mustContain(t, h.fail("storage:mount", "-a", "hello", "Bad:/x"), `invalid volume name "Bad"`)
	mustContain(t, h.fail("storage:mount", "-a", "hello", "cache:relative"), `invalid mount path "relative"`)
	mustContain(t, h.ok("storage", "-a", "hello"), "data  /var/lib/data")
	mustContain(t, h.ok("apps:destroy", "-a", "hello", "--confirm", "hello"), "Destroyed app hello.", "Kept volumes data")
}

func TestStorageUnmountAndDestroyVolumes(t *testing.T) {
	h := newHarness(t)
	h.ok("apps:create", "hello")
	h.ok("storage:mount", "-a", "hello", "data:/data")
	h.ok("storage:mount", "-a", "hello", "logs:/logs")
	mustContain(t, h.ok("storage:unmount", "-a", "hello", "logs"), "no longer mounted", "data is kept")
	mustContain(t, h.fail("storage:unmount", "-a", "hello", "logs"), `hello has no volume "logs"`)
	mustContain(t, h.ok("apps:destroy", "-a", "hello", "--confirm", "hello", "--volumes"), "Deleted volumes data and their data.")
}
