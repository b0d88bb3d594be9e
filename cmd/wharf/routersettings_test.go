package main

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf/web"
)

func TestRouterCommands(t *testing.T) {
	h := newHarness(t)
	h.ok("apps:create", "shop")
	out := h.ok("router", "-a", "shop")
	mustContain(t, out, "SETTING", "VALUE", "DEFAULT", "body-limit  100m (default)  100m", "timeout     60s (default)   60s")

	out = h.ok("router:set", "-a", "shop", "body-limit=50m", "timeout=90s")
	mustContain(t, out, "Router settings of shop changed", "body-limit  50m", "100m", "timeout     90s", "60s")
	rs := decodeJSON[web.RouterSettings](t, h.ok("router", "-a", "shop", "--json"))
	if len(rs.Settings) != 2 || rs.Settings[0] != (web.RouterSetting{Key: "body-limit", Value: "50m", Default: "100m", Effective: "50m"}) ||
		rs.Settings[1] != (web.RouterSetting{Key: "timeout", Value: "90s", Default: "60s", Effective: "90s"}) {
		t.Fatalf("router --json = %+v", rs)
	}

	rs = decodeJSON[web.RouterSettings](t, h.ok("router:set", "-a", "shop", "body-limit=", "--json"))
	if rs.Settings[0].Value != "" || rs.Settings[0].Effective != "100m" || rs.Settings[1].Value != "90s" {
		t.Errorf("after resetting body-limit: %+v", rs)
	}
	mustContain(t, h.ok("router", "-a", "shop"), "body-limit  100m (default)", "timeout     90s")
	h.ok("router:set", "-a", "shop", "timeout=")
	if out := h.ok("router", "-a", "shop"); strings.Count(out, "(default)") != 2 {
		t.Errorf("after both resets:\n%s", out)
	}

	mustContain(t, h.fail("router:set", "-a", "shop", "client-max-body-size=50m"),
		`unknown router setting "client-max-body-size": the settings are body-limit (a size such as 50m) and timeout (a duration such as 90s)`)
	mustContain(t, h.fail("router:set", "-a", "shop", "body-limit=huge"), `invalid body-limit "huge"`, "k, m, g are 1024, 1024² and 1024³ bytes")
	mustContain(t, h.fail("router:set", "-a", "shop", "timeout=2h"), `invalid timeout "2h"`, "from 1s to 1h")
	mustContain(t, h.fail("router:set", "-a", "shop", "timeout"), `router:set: "timeout" is not KEY=VALUE (keys: body-limit, timeout)`)
	mustContain(t, h.fail("router:set", "-a", "shop"), "usage: wharf router:set -a APP KEY=VALUE...")
	mustContain(t, h.fail("router", "-a", "nope"), `app "nope" not found`)
	mustContain(t, h.fail("router:set", "-a", "nope", "timeout=5s"), `app "nope" not found`)
	mustContain(t, h.ok("help"), "router:set -a APP KEY=VALUE...")
}
