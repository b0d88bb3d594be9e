package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/web"
	"github.com/wharfhq/wharf/web/webtest"
)

// noRedirect is a client that shows redirects instead of following them.
func noRedirect(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// TestEveryRouteRefusesAnonymous walks the router: every API route answers
// 401 and every page redirects to /login without credentials, whatever the
// features registered.
func TestEveryRouteRefusesAnonymous(t *testing.T) {
	fake := webtest.New()
	fake.CreateApp(t.Context(), "admin", "hello")
	h := web.NewHandler(fake, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(h)
	defer srv.Close()
	param := regexp.MustCompile(`\{[^}]+\}`)
	n := 0
	err := chi.Walk(h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		switch {
		case route == "/healthz", route == "/login", strings.HasPrefix(route, "/static/"):
			return nil
		}
		path := param.ReplaceAllString(strings.TrimSuffix(route, "/*"), "hello")
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader("{}"))
		res, err := noRedirect(nil).Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		n++
		if strings.HasPrefix(route, "/api/") {
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s anonymous: status %d, want 401", method, path, res.StatusCode)
			}
		} else if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
			t.Errorf("%s %s anonymous: status %d to %q, want 303 to /login", method, path, res.StatusCode, res.Header.Get("Location"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Errorf("walked only %d routes", n)
	}
}

// browser is a dashboard client with a cookie jar.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func login(t *testing.T, base, user, password string) (*browser, int) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, base: base, c: noRedirect(jar)}
	_, body := b.get("/login")
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("login page has no csrf field:\n%s", body)
	}
	status, _ := b.post("/login", url.Values{"csrf": {m[1]}, "username": {user}, "password": {password}})
	if status == http.StatusSeeOther {
		_, body = b.get("/")
		if m := csrfField.FindStringSubmatch(body); m != nil {
			b.csrf = m[1]
		}
	}
	return b, status
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	res, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	res, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func TestDashboardLoginCSRFAndEscaping(t *testing.T) {
	fake := webtest.New()
	fake.CreateApp(t.Context(), "admin", "hello")
	fake.Deploy("hello", wharf.Release{Version: 1}, []wharf.Process{{Type: "web", Instance: 1, State: "running"}})
	fake.AddLog("hello", "web.1", "<script>alert(1)</script>")
	srv := httptest.NewServer(web.NewHandler(fake, slog.New(slog.DiscardHandler)))
	defer srv.Close()

	if _, status := login(t, srv.URL, webtest.User, "wrong-password"); status != http.StatusUnauthorized {
		t.Errorf("wrong password: status %d, want 401", status)
	}
	b, status := login(t, srv.URL, webtest.User, webtest.Password)
	if status != http.StatusSeeOther || b.csrf == "" {
		t.Fatalf("login: status %d, csrf %q", status, b.csrf)
	}
	status, body := b.get("/apps/hello")
	if status != http.StatusOK {
		t.Fatalf("app page: %d\n%s", status, body)
	}
	if strings.Contains(body, "<script>alert(1)") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the log line is not escaped on the app page:\n%s", body)
	}
	if status, _ := b.post("/apps", url.Values{"name": {"sneaky"}}); status != http.StatusForbidden {
		t.Errorf("form post without csrf: status %d, want 403", status)
	}
	if status, _ := b.post("/apps", url.Values{"name": {"sneaky"}, "csrf": {"forged"}}); status != http.StatusForbidden {
		t.Errorf("form post with a wrong csrf: status %d, want 403", status)
	}
	if _, err := fake.AppInfo(t.Context(), "sneaky"); err == nil {
		t.Error("an app was created by a post without a valid csrf token")
	}
	if status, _ := b.post("/apps", url.Values{"name": {"made-here"}, "csrf": {b.csrf}}); status != http.StatusSeeOther {
		t.Errorf("form post with the csrf token: status %d, want 303", status)
	}
}

func TestLoginRateLimit(t *testing.T) {
	srv := httptest.NewServer(web.NewHandler(webtest.New(), slog.New(slog.DiscardHandler)))
	defer srv.Close()
	for i := 0; i < 5; i++ {
		if _, status := login(t, srv.URL, webtest.User, "nope-nope"); status != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, status)
		}
	}
	if _, status := login(t, srv.URL, webtest.User, webtest.Password); status != http.StatusTooManyRequests {
		t.Errorf("login after 5 failures: status %d, want 429", status)
	}
	if _, status := login(t, srv.URL, "someone-else", "whatever-pw"); status != http.StatusUnauthorized {
		t.Errorf("another user's login from the same address: status %d, want 401 (limited per user and address)", status)
	}
}

func TestDashboardShowsNodesOfSwarmProcesses(t *testing.T) {
	fake := webtest.New()
	fake.CreateApp(t.Context(), "admin", "hello")
	fake.CreateApp(t.Context(), "admin", "solo")
	fake.Deploy("hello", wharf.Release{Version: 1}, []wharf.Process{
		{Type: "web", Instance: 1, State: "running", Node: "web-node-1"},
		{Type: "web", Instance: 2, State: "starting"},
	})
	fake.Deploy("solo", wharf.Release{Version: 1}, []wharf.Process{{Type: "web", Instance: 1, State: "running"}})
	srv := httptest.NewServer(web.NewHandler(fake, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	b, _ := login(t, srv.URL, webtest.User, webtest.Password)

	_, body := b.get("/apps/hello")
	for _, want := range []string{"<th>Node</th>", `<td class="node">web-node-1</td>`, `<td class="node">-</td>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the app page of a swarm app lacks %q", want)
		}
	}
	if _, body := b.get("/apps/solo"); strings.Contains(body, "<th>Node</th>") {
		t.Error("the app page shows a Node column though no process has a node")
	}
}
