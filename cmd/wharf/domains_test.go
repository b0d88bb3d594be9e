package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wharfhq/wharf/internal/testenv"
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
	out := h.ok("logs", "-a", "shop", "--router", "-n", "1")
	if want := "2026-01-02T03:04:06Z shop POST shop.localhost/b 503 0.5ms 0B r2\n"; out != want {
		t.Fatalf("logs --router -n 1 = %q, want %q", out, want)
	}
	mustContain(t, h.ok("logs", "-a", "shop", "--router"), "GET shop.localhost/a 200 1.2ms 12B r1\n")
	mustContain(t, h.fail("logs", "-a", "nope", "--router"), `app "nope" not found`)
}

func TestCertsCommands(t *testing.T) {
	h := newHarness(t)
	h.ok("apps:create", "shop")
	mustContain(t, h.ok("certs", "-a", "shop"), "shop has no certificates. Add one with: wharf certs:add -a shop cert.pem key.pem")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
		"-subj", "/CN=www.shop.test", "-addext", "subjectAltName=DNS:www.shop.test", "-keyout", keyFile, "-out", certFile).CombinedOutput()
	if err != nil {
		testenv.Missing(t, "openssl: %v\n%s", err, out)
	}
	mustContain(t, h.ok("certs:add", "-a", "shop", certFile, keyFile), "Added a certificate for www.shop.test to shop, valid until ")
	mustContain(t, h.ok("certs", "-a", "shop"), "NAMES", "www.shop.test")
	mustContain(t, h.fail("certs:add", "-a", "shop", keyFile, certFile), "not a certificate and its key")
	mustContain(t, h.fail("certs:add", "-a", "shop", certFile), "usage: wharf certs:add -a APP CERT.pem KEY.pem")
	mustContain(t, h.fail("certs:add", "-a", "shop", filepath.Join(dir, "none.pem"), keyFile), "reading ")
	mustContain(t, h.ok("certs:redirect", "-a", "shop", "on"), "HTTP requests for shop are now redirected to HTTPS.")
	mustContain(t, h.ok("certs:redirect", "-a", "shop", "off"), "served over HTTP again")
	mustContain(t, h.fail("certs:redirect", "-a", "shop", "yes"), "usage: wharf certs:redirect -a APP on|off")
	mustContain(t, h.fail("certs:redirect", "-a", "nope", "on"), `app "nope" not found`)
}
