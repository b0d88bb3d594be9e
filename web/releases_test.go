package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wharfhq/wharf"
)

func TestReleaseRoutes(t *testing.T) {
	e := newEnv(t)
	expect(t, e.api("POST", "/api/v1/apps", `{"name":"hello"}`), http.StatusCreated, "")
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/api/v1/apps/hello/releases", ""},
		{"POST", "/api/v1/apps/hello/rollback", `{}`},
		{"GET", "/api/v1/apps/hello/config", ""},
		{"PATCH", "/api/v1/apps/hello/config", `{"set":{"A":"1"}}`},
		{"GET", "/api/v1/apps/hello/formation", ""},
		{"PATCH", "/api/v1/apps/hello/formation", `{"quantities":{"web":2}}`},
		{"PUT", "/api/v1/apps/hello/formation/web", `{"memory":"256m"}`},
		{"POST", "/api/v1/apps/hello/restart", `{}`},
		{"GET", "/api/v1/apps/hello/storage", ""},
		{"POST", "/api/v1/apps/hello/storage", `{"name":"data","path":"/data"}`},
		{"DELETE", "/api/v1/apps/hello/storage/data", ""},
		{"POST", "/api/v1/apps/hello/storage/destroy", ""},
	} {
		expect(t, e.do(r.method, r.path, "", r.body), http.StatusUnauthorized, wharf.EUNAUTHORIZED)
		if strings.Contains(r.path, "/hello/") {
			res := e.api(r.method, strings.Replace(r.path, "/hello/", "/nope/", 1), r.body)
			if res.status != http.StatusNotFound && res.status != http.StatusForbidden {
				t.Errorf("%s %s of a missing app: %d %s", r.method, r.path, res.status, res.body)
			}
		}
	}
	for _, body := range []string{`{}`, `{"set":{}}`, `{"set":{"A":1}}`, `{"bogus":true}`} {
		expect(t, e.api("PATCH", "/api/v1/apps/hello/config", body), http.StatusBadRequest, wharf.EINVALID)
	}
	expect(t, e.api("PATCH", "/api/v1/apps/hello/formation", `{"quantities":{}}`), http.StatusBadRequest, wharf.EINVALID)
	expect(t, e.api("PUT", "/api/v1/apps/hello/formation/web", `{}`), http.StatusBadRequest, wharf.EINVALID)
	expect(t, e.api("POST", "/api/v1/apps/hello/rollback", `{"version":-1}`), http.StatusBadRequest, wharf.EINVALID)
	res := e.api("PATCH", "/api/v1/apps/hello/config", `{"set":{"1BAD":"x"}}`)
	expect(t, res, http.StatusBadRequest, wharf.EINVALID)
	if msg, _ := res.errorBody(t); !strings.Contains(msg, wharf.ConfigKeyRule) {
		t.Errorf("bad key message %q does not quote the rule", msg)
	}
	if res := e.api("GET", "/api/v1/apps/hello/releases", ""); res.status != 200 || strings.TrimSpace(string(res.body)) != "[]" {
		t.Errorf("releases of a new app: %d %s", res.status, res.body)
	}
	if res := e.api("GET", "/api/v1/apps/hello/config", ""); res.status != 200 || strings.TrimSpace(string(res.body)) != "{}" {
		t.Errorf("config of a new app: %d %s", res.status, res.body)
	}
}
