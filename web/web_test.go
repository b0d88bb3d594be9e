package web_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/web"
	"github.com/wharfhq/wharf/web/webtest"
)

// testKey is a valid ed25519 public key line.
const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop"

type env struct {
	t    *testing.T
	fake *webtest.Fake
	srv  *httptest.Server
	logs *testenv.SyncBuffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	fake := webtest.New()
	logs := &testenv.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(web.NewHandler(fake, log))
	t.Cleanup(srv.Close)
	return &env{t: t, fake: fake, srv: srv, logs: logs}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// errorBody decodes the response as the API's JSON error.
func (r response) errorBody(t *testing.T) (msg, code string) {
	t.Helper()
	var e struct{ Error, Code string }
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error response is not JSON: %v: %s", err, r.body)
	}
	return e.Error, e.Code
}

// do sends a request with an Authorization header (when auth is not "").
func (e *env) do(method, path, auth, body string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// api sends an authenticated request.
func (e *env) api(method, path, body string) response {
	e.t.Helper()
	return e.do(method, path, "Bearer "+webtest.Token, body)
}

// expect fails unless r has the status and, for errors, the code.
func expect(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	if code == "" {
		return
	}
	if _, got := r.errorBody(t); got != code {
		t.Fatalf("code %q, want %q; body: %s", got, code, r.body)
	}
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decoding %T: %v: %s", v, err, r.body)
	}
	return v
}

func TestEveryAPIRouteRequiresAToken(t *testing.T) {
	e := newEnv(t)
	expect(t, e.api("POST", "/api/v1/apps", `{"name":"hello"}`), 201, "")
	expect(t, e.api("POST", "/api/v1/keys", fmt.Sprintf(`{"name":"alice","public_key":%q}`, testKey)), 201, "")
	routes := []struct{ method, path, body string }{
		{"GET", "/api/v1/apps", ""},
		{"POST", "/api/v1/apps", `{"name":"other"}`},
		{"GET", "/api/v1/apps/hello", ""},
		{"DELETE", "/api/v1/apps/hello", ""},
		{"GET", "/api/v1/apps/hello/ps", ""},
		{"GET", "/api/v1/keys", ""},
		{"POST", "/api/v1/keys", `{"name":"bob","public_key":"ssh-ed25519 AAAA"}`},
		{"DELETE", "/api/v1/keys/alice", ""},
	}
	auths := map[string]string{
		"anonymous":    "",
		"wrong token":  "Bearer not-the-token",
		"empty bearer": "Bearer ",
		"basic auth":   "Basic " + webtest.Token,
		"bare token":   webtest.Token,
	}
	for _, rt := range routes {
		for name, auth := range auths {
			t.Run(rt.method+" "+rt.path+"/"+name, func(t *testing.T) {
				r := e.do(rt.method, rt.path, auth, rt.body)
				expect(t, r, http.StatusUnauthorized, wharf.EUNAUTHORIZED)
				if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", r.header.Get("WWW-Authenticate"))
				}
			})
		}
	}
	// Nothing the anonymous requests asked for happened.
	apps := decode[[]web.AppInfo](t, e.api("GET", "/api/v1/apps", ""))
	if len(apps) != 1 || apps[0].Name != "hello" {
		t.Errorf("apps after anonymous requests = %+v, want only hello", apps)
	}
	keys := decode[[]wharf.Key](t, e.api("GET", "/api/v1/keys", ""))
	if len(keys) != 1 || keys[0].Name != "alice" {
		t.Errorf("keys after anonymous requests = %+v, want only alice", keys)
	}
	// The scheme is case-insensitive, as RFC 9110 says.
	expect(t, e.do("GET", "/api/v1/apps", "bearer "+webtest.Token, ""), 200, "")
}

func TestAppsLifecycle(t *testing.T) {
	e := newEnv(t)
	list := e.api("GET", "/api/v1/apps", "")
	expect(t, list, 200, "")
	if strings.TrimSpace(string(list.body)) != "[]" {
		t.Errorf("empty app list = %s, want []", list.body)
	}

	created := e.api("POST", "/api/v1/apps", `{"name":"hello"}`)
	expect(t, created, http.StatusCreated, "")
	info := decode[web.AppInfo](t, created)
	if info.Name != "hello" || info.URL != "http://hello.localhost:8080" || info.GitRemote != "ssh://git@127.0.0.1:2222/hello.git" {
		t.Errorf("created app = %+v", info)
	}
	if !bytes.Contains(created.body, []byte(`"processes": []`)) {
		t.Errorf("a new app's processes should be [], got %s", created.body)
	}

	started := time.Now().Add(-time.Hour).UTC()
	e.fake.Deploy("hello", wharf.Release{Version: 3, Image: "wharf/hello:v3", Status: wharf.ReleaseDeployed},
		[]wharf.Process{{App: "hello", Release: 3, Type: "web", Instance: 1, ContainerName: "wharf-hello-web-1", State: "running", StartedAt: started}})

	info = decode[web.AppInfo](t, e.api("GET", "/api/v1/apps/hello", ""))
	if info.Release == nil || info.Release.Version != 3 || len(info.Processes) != 1 {
		t.Errorf("app info after deploy = %+v", info)
	}
	apps := decode[[]web.AppInfo](t, e.api("GET", "/api/v1/apps", ""))
	if len(apps) != 1 || apps[0].Release == nil || apps[0].Release.Version != 3 {
		t.Errorf("app list = %+v", apps)
	}
	ps := decode[[]wharf.Process](t, e.api("GET", "/api/v1/apps/hello/ps", ""))
	if len(ps) != 1 || ps[0].ContainerName != "wharf-hello-web-1" || !ps[0].StartedAt.Equal(started) {
		t.Errorf("ps = %+v", ps)
	}

	del := e.api("DELETE", "/api/v1/apps/hello", "")
	expect(t, del, http.StatusNoContent, "")
	if got := e.fake.Destroyed(); len(got) != 1 || got[0] != "hello" {
		t.Errorf("destroyed = %v", got)
	}
	for _, p := range []string{"/api/v1/apps/hello", "/api/v1/apps/hello/ps"} {
		r := e.api("GET", p, "")
		expect(t, r, http.StatusNotFound, wharf.ENOTFOUND)
		if msg, _ := r.errorBody(t); msg != `app "hello" not found` {
			t.Errorf("GET %s: message %q", p, msg)
		}
	}
	expect(t, e.api("DELETE", "/api/v1/apps/hello", ""), http.StatusNotFound, wharf.ENOTFOUND)
}

func TestCreateAppRefusesBadRequests(t *testing.T) {
	e := newEnv(t)
	expect(t, e.api("POST", "/api/v1/apps", `{"name":"hello"}`), 201, "")
	tests := []struct {
		name, body string
		status     int
		want       string // in the message
	}{
		{"duplicate", `{"name":"hello"}`, 409, `app "hello" already exists`},
		{"invalid name", `{"name":"Hello_World"}`, 400, "invalid app name"},
		{"missing name", `{}`, 400, "missing app name"},
		{"malformed", `{"name":`, 400, "JSON ends too early"},
		{"syntax", `{"name" "x"}`, 400, "malformed JSON"},
		{"unknown field", `{"nmae":"x"}`, 400, `unknown field "nmae"`},
		{"wrong type", `{"name":42}`, 400, `field "name" must be a string`},
		{"not an object", `["x"]`, 400, "expected a JSON object"},
		{"empty body", ``, 400, "request body is empty"},
		{"trailing data", `{"name":"x"} {"name":"y"}`, 400, "unexpected data after the JSON object"},
		{"too large", `{"name":"` + strings.Repeat("a", 100<<10) + `"}`, 400, "request body too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.api("POST", "/api/v1/apps", tt.body)
			expect(t, r, tt.status, "")
			if msg, _ := r.errorBody(t); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q, want it to contain %q", msg, tt.want)
			}
		})
	}
	apps := decode[[]web.AppInfo](t, e.api("GET", "/api/v1/apps", ""))
	if len(apps) != 1 {
		t.Errorf("bad requests created apps: %+v", apps)
	}
}

func TestKeys(t *testing.T) {
	e := newEnv(t)
	body := fmt.Sprintf(`{"name":"alice","public_key":%q}`, testKey)
	r := e.api("POST", "/api/v1/keys", body)
	expect(t, r, http.StatusCreated, "")
	key := decode[wharf.Key](t, r)
	if key.Name != "alice" || key.Owner != webtest.User || !strings.HasPrefix(key.Fingerprint, "SHA256:") {
		t.Errorf("added key = %+v", key)
	}
	keys := decode[[]wharf.Key](t, e.api("GET", "/api/v1/keys", ""))
	if len(keys) != 1 || keys[0].Fingerprint != key.Fingerprint {
		t.Errorf("keys = %+v", keys)
	}
	expect(t, e.api("POST", "/api/v1/keys", body), http.StatusConflict, wharf.ECONFLICT)
	expect(t, e.api("POST", "/api/v1/keys", `{"name":"bob","public_key":"ssh-ed25519 nonsense"}`), 400, wharf.EINVALID)
	expect(t, e.api("POST", "/api/v1/keys", `{"name":"bob"}`), 400, wharf.EINVALID)
	expect(t, e.api("POST", "/api/v1/keys", `{"name":"bob","public_key":"x","admin":true}`), 400, wharf.EINVALID)
	expect(t, e.api("DELETE", "/api/v1/keys/alice", ""), http.StatusNoContent, "")
	expect(t, e.api("DELETE", "/api/v1/keys/alice", ""), http.StatusNotFound, wharf.ENOTFOUND)
	if r := e.api("GET", "/api/v1/keys", ""); strings.TrimSpace(string(r.body)) != "[]" {
		t.Errorf("keys after removal = %s, want []", r.body)
	}
}

func TestErrorCodesBecomeStatuses(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
		msg    string
	}{
		{wharf.Errorf(wharf.EINVALID, "bad"), 400, wharf.EINVALID, "bad"},
		{wharf.Errorf(wharf.ENOTFOUND, "gone"), 404, wharf.ENOTFOUND, "gone"},
		{wharf.Errorf(wharf.ECONFLICT, "taken"), 409, wharf.ECONFLICT, "taken"},
		{wharf.Errorf(wharf.EUNAUTHORIZED, "who"), 401, wharf.EUNAUTHORIZED, "who"},
		{wharf.Errorf(wharf.EFORBIDDEN, "no"), 403, wharf.EFORBIDDEN, "no"},
		{wharf.Errorf(wharf.EUNAVAILABLE, "busy"), 503, wharf.EUNAVAILABLE, "busy"},
		{fmt.Errorf("listing: %w", wharf.Errorf(wharf.ENOTFOUND, "wrapped")), 404, wharf.ENOTFOUND, "wrapped"},
		{wharf.Errorf(wharf.EINTERNAL, "secret detail"), 500, wharf.EINTERNAL, "internal error"},
		{errors.New("pq: password=hunter2 refused"), 500, wharf.EINTERNAL, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			e := newEnv(t)
			e.fake.SetBefore(func(string) error { return tt.err })
			r := e.api("GET", "/api/v1/apps", "")
			expect(t, r, tt.status, tt.code)
			if msg, _ := r.errorBody(t); msg != tt.msg {
				t.Errorf("message %q, want %q", msg, tt.msg)
			}
			if tt.status == 500 && !strings.Contains(e.logs.String(), tt.err.Error()) {
				t.Errorf("the real error was not logged; logs:\n%s", e.logs)
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	e := newEnv(t)
	e.fake.SetReady(errors.New("migrations are running"))
	r := e.do("GET", "/healthz", "", "")
	if r.status != 503 || !strings.Contains(string(r.body), "migrations are running") {
		t.Errorf("not ready: %d %q, want 503 with the reason", r.status, r.body)
	}
	e.fake.SetReady(nil)
	r = e.do("GET", "/healthz", "", "")
	if r.status != 200 || strings.TrimSpace(string(r.body)) != "ok" {
		t.Errorf("ready: %d %q, want 200 ok", r.status, r.body)
	}
}

func TestPanicBecomes500AndServerKeepsServing(t *testing.T) {
	e := newEnv(t)
	e.fake.SetBefore(func(m string) error {
		if m == "ListApps" {
			panic("boom in ListApps")
		}
		return nil
	})
	r := e.api("GET", "/api/v1/apps", "")
	expect(t, r, 500, wharf.EINTERNAL)
	if bytes.Contains(r.body, []byte("boom")) {
		t.Errorf("the panic leaked to the client: %s", r.body)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "boom in ListApps") || !strings.Contains(logs, "status=500") {
		t.Errorf("panic or its status not logged:\n%s", logs)
	}
	expect(t, e.api("GET", "/api/v1/keys", ""), 200, "")
	expect(t, e.api("GET", "/api/v1/apps", ""), 500, wharf.EINTERNAL)
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	e := newEnv(t)
	expect(t, e.api("GET", "/api/v1/nope", ""), 404, wharf.ENOTFOUND)
	r := e.api("PUT", "/api/v1/apps", "")
	expect(t, r, 405, "method_not_allowed")
}

func TestRequestLogNeverHoldsTheToken(t *testing.T) {
	e := newEnv(t)
	e.api("GET", "/api/v1/apps", "")
	e.do("GET", "/api/v1/keys", "Bearer wrong-secret-token", "")
	logs := e.logs.String()
	for _, want := range []string{"method=GET", "path=/api/v1/apps", "status=200", "status=401", "duration="} {
		if !strings.Contains(logs, want) {
			t.Errorf("request log lacks %q:\n%s", want, logs)
		}
	}
	for _, secret := range []string{webtest.Token, "wrong-secret-token"} {
		if strings.Contains(logs, secret) {
			t.Errorf("request log holds a token:\n%s", logs)
		}
	}
}
