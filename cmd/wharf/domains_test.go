package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

func TestDomainsCommands(t *testing.T) {
	h := newHarness(t)
	h.ok("apps:create", "shop")
	h.ok("apps:create", "blog")
	mustContain(t, h.ok("domains", "-a", "shop"), "shop has no custom domains. Add one with: wharf domains:add -a shop www.example.com")
	mustContain(t, h.ok("domains:add", "-a", "shop", "WWW.example.com"), "Added www.example.com to shop.")
	h.ok("domains:add", "-a", "shop", "*.example.org")
	out := h.ok("domains", "-a", "shop")
	mustContain(t, out, "DOMAIN", "*.example.org", "www.example.com")
	if ds := decodeJSON[[]map[string]any](t, h.ok("domains", "-a", "shop", "--json")); len(ds) != 2 || ds[0]["hostname"] != "*.example.org" {
		t.Fatalf("domains --json = %v", ds)
	}
	mustContain(t, h.fail("domains:add", "-a", "blog", "www.example.com"),
		"domain www.example.com belongs to app shop; remove it there first (wharf domains:remove -a shop www.example.com)")
	mustContain(t, h.fail("domains:add", "-a", "shop"), "usage: wharf domains:add -a APP DOMAIN")
	mustContain(t, h.fail("domains", "-a", "nope"), `app "nope" not found`)
	mustContain(t, h.ok("domains:remove", "-a", "shop", "www.example.com"), "Removed www.example.com from shop.")
	mustContain(t, h.fail("domains:remove", "-a", "shop", "www.example.com"), "app shop has no domain www.example.com")
	mustContain(t, h.ok("domains:add", "-a", "blog", "www.example.com"), "Added www.example.com to blog.")
}

func TestRouterLogs(t *testing.T) {
	h := newHarness(t)
	h.ok("apps:create", "shop")
	for _, e := range []string{
		`{"time":"2026-01-02T03:04:05Z","host":"shop.localhost","method":"GET","path":"/a","status":200,"duration_ms":1.25,"bytes":12,"request_id":"r1"}`,
		`{"time":"2026-01-02T03:04:06Z","host":"shop.localhost","method":"POST","path":"/b","status":503,"duration_ms":0.5,"bytes":0,"request_id":"r2"}`,
	} {
		h.fake.AddRouterLog("shop", json.RawMessage(e))
	}
	c, err := newClient(func(k string) string { return h.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cl := &cli{api: c, stdout: &out}
	if err := routerLogs(context.Background(), cl, "shop", 1, false); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "2026-01-02T03:04:06Z shop POST shop.localhost/b 503 0.5ms 0B r2\n"; got != want {
		t.Fatalf("routerLogs -n 1 = %q, want %q", got, want)
	}
}
