package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// postTo sends a POST with body to addr's router for host and returns the
// status and response body.
func postTo(addr, host, body string) (int, string, error) {
	req, err := http.NewRequest("POST", "http://"+addr+"/", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// TestRouterBodyLimit: `wharf router:set body-limit=1k` on a deployed app
// turns a 2 KiB upload into a 413 on the daemon's router and on a second
// `wharfd router` node, and `body-limit=` lets it through again.
func TestRouterBodyLimit(t *testing.T) {
	testenv.Docker(t)
	testenv.Busybox(t)
	dbURL := testenv.Postgres(t) // shared by the daemon and the router node
	d := newDaemon(t)
	d.args = []string{"--database-url", dbURL}
	d.start(t)
	app := uniqueApp("upload")
	host := app + ".localhost"
	deployApp(t, d, app, dockerfileApp("upload v1\n"))
	node := startRouter(t, dbURL)
	node.waitFor(t, host, "upload v1\n", 30*time.Second)
	routers := map[string]string{"wharfd serve": d.httpAddr, "wharfd router": node.httpAddr}
	upload := strings.Repeat("x", 2048)
	// expect waits until every router answers the upload as pass says.
	expect := func(what string, pass func(code int, body string) bool) {
		t.Helper()
		for name, addr := range routers {
			var code int
			var body string
			var err error
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if code, body, err = postTo(addr, host, upload); err == nil && pass(code, body) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: %s answered a 2 KiB upload with %d %q %v", what, name, code, body, err)
				}
			}
		}
	}
	is413 := func(code int, body string) bool {
		return code == 413 && body == "413 Content Too Large: request bodies are limited to 1024 bytes\n"
	}
	expect("before router:set", func(code int, _ string) bool { return code != 413 })

	out, err := d.cli(t, "router:set", "-a", app, "body-limit=1k")
	if err != nil || !strings.Contains(out, "body-limit  1k ") {
		t.Fatalf("router:set: %v\n%s", err, out)
	}
	expect("after body-limit=1k", is413)
	if code, _, err := postTo(node.httpAddr, host, strings.Repeat("x", 1000)); err != nil || code == 413 {
		t.Errorf("1000 bytes under the 1k limit: %d %v", code, err)
	}
	if out, err := d.cli(t, "router", "-a", app); err != nil || !strings.Contains(out, "body-limit  1k ") || !strings.Contains(out, "timeout     60s (default)") {
		t.Errorf("wharf router: %v\n%s", err, out)
	}
	if out, err := d.cli(t, "activity", "-a", app); err != nil || !strings.Contains(out, "set router body-limit=1k") {
		t.Errorf("activity lacks the change: %v\n%s", err, out)
	}

	if out, err := d.cli(t, "router:set", "-a", app, "body-limit="); err != nil || !strings.Contains(out, "body-limit  100m (default)") {
		t.Fatalf("router:set body-limit=: %v\n%s", err, out)
	}
	expect("after the reset", func(code int, _ string) bool { return code != 413 })
}
