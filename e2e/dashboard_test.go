package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wharfhq/wharf/internal/testenv"
)

// screenshotDir is where the browser test saves its screenshots (README).
const screenshotDir = "../test-artifacts/screenshots"

func (d *daemon) adminPassword(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.dataDir, "admin-password"))
	if err != nil {
		t.Fatalf("reading admin-password: %v", err)
	}
	if info, _ := os.Stat(filepath.Join(d.dataDir, "admin-password")); info.Mode().Perm() != 0o600 {
		t.Errorf("admin-password has mode %v, want 0600", info.Mode().Perm())
	}
	return strings.TrimSpace(string(b))
}

// newChrome starts headless chromium for the test.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	path := testenv.Binary(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

// shoot saves a full-page screenshot.
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var buf []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&buf, 100)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// textOf reads an element's text.
func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	var s string
	run(t, ctx, "reading "+sel, chromedp.Text(sel, &s, chromedp.ByQuery))
	return s
}

// TestDashboardInBrowser is issue 6's acceptance 1: a real browser against
// a real wharfd logs in, creates an app, sees its git remote, scales, sets
// a config var, rolls back and watches a log line arrive live.
func TestDashboardInBrowser(t *testing.T) {
	docker := testenv.Docker(t)
	testenv.Busybox(t)
	ctx := newChrome(t)
	d := newDaemon(t)
	d.start(t)
	base := "http://" + d.apiAddr
	app := uniqueApp("dash")
	t.Cleanup(func() { removeAppContainers(docker, app) })

	var loc string
	run(t, ctx, "opening /", chromedp.Navigate(base+"/"), chromedp.WaitVisible(`input[name=username]`), chromedp.Location(&loc))
	if !strings.HasSuffix(loc, "/login") {
		t.Errorf("anonymous / went to %s, want /login", loc)
	}
	shoot(t, ctx, "login")
	run(t, ctx, "logging in",
		chromedp.SendKeys(`input[name=username]`, "admin"),
		chromedp.SendKeys(`input[name=password]`, d.adminPassword(t)),
		chromedp.Submit(`input[name=password]`),
		chromedp.WaitVisible(`a.button.primary`))

	run(t, ctx, "creating the app", chromedp.Click(`a.button.primary`), chromedp.WaitVisible(`input[name=name]`),
		chromedp.SendKeys(`input[name=name]`, app), chromedp.Submit(`input[name=name]`), chromedp.WaitVisible(`#git-remote`))
	wantRemote := "ssh://git@" + d.sshAddr + "/" + app + ".git"
	if got := textOf(t, ctx, "#git-remote"); got != wantRemote {
		t.Errorf("git remote on the new app's page: %q, want %q", got, wantRemote)
	}
	shoot(t, ctx, "app-created")

	p := newPusher(t, d.sshAddr)
	if out, err := d.cli(t, "keys:add", p.key+".pub"); err != nil {
		t.Fatalf("keys:add: %v\n%s", err, out)
	}
	p.git(t, "remote", "add", "wharf", wantRemote)
	p.commit(t, "v1", tickingApp("v1"))
	if out, err := p.gitErr("push", "wharf", "main"); err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	appURL := base + "/apps/" + app
	run(t, ctx, "opening the app page", chromedp.Navigate(appURL), chromedp.WaitVisible(`#instance-count`))
	if got := textOf(t, ctx, "#instance-count"); got != "1" {
		t.Errorf("instances after the first push: %s, want 1", got)
	}

	run(t, ctx, "scaling web to 2", chromedp.SetValue(`input[name=qty_web]`, "2"), chromedp.Click(`#scale`))
	waitText(t, ctx, "p.flash", "Scaled")
	if got := textOf(t, ctx, "#instance-count"); got != "2" {
		t.Errorf("instances after scaling to 2: %s, want 2", got)
	}

	run(t, ctx, "setting a config var", chromedp.SendKeys(`input[name=key]`, "GREETING"),
		chromedp.SendKeys(`input[name=value]`, "<b>hi</b>"), chromedp.Click(`#config-set`))
	waitText(t, ctx, "p.flash", "Config updated")
	if got := textOf(t, ctx, "#config table"); !strings.Contains(got, "GREETING") {
		t.Errorf("config table after setting GREETING:\n%s", got)
	}
	var bolds int
	run(t, ctx, "counting injected elements", chromedp.Evaluate(`document.querySelectorAll('#config b').length`, &bolds))
	if bolds != 0 {
		t.Errorf("the config value was rendered as HTML")
	}

	run(t, ctx, "rolling back to v1", chromedp.Click(`#rollback-1`))
	waitText(t, ctx, "p.flash", "Rolled back")
	if got := textOf(t, ctx, "#releases tbody tr:first-child"); !strings.Contains(got, "current") || !strings.Contains(strings.ToLower(got), "rollback") {
		t.Errorf("newest release after the rollback: %q, want a current release described as a rollback", got)
	}

	watchLiveLogs(t, ctx, appURL)
	shoot(t, ctx, "app")
	run(t, ctx, "opening the apps page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(`table`))
	if got := textOf(t, ctx, "table"); !strings.Contains(got, app) || !strings.Contains(got, "running") {
		t.Errorf("apps page lacks %s running:\n%s", app, got)
	}
	shoot(t, ctx, "apps")
	run(t, ctx, "opening the keys page", chromedp.Navigate(base+"/keys"), chromedp.WaitVisible(`table`))
	shoot(t, ctx, "keys")
	if out, err := d.cli(t, "users:add", "dana", "--password", "dana-password"); err != nil {
		t.Fatalf("users:add: %v\n%s", err, out)
	}
	run(t, ctx, "opening the users page", chromedp.Navigate(base+"/users"), chromedp.WaitVisible(`table`))
	shoot(t, ctx, "users")
	run(t, ctx, "opening the new-app page", chromedp.Navigate(base+"/apps/new"), chromedp.WaitVisible(`input[name=name]`))
	shoot(t, ctx, "new-app")
}

// waitText waits until the element sel (on a new page, maybe) contains want.
func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got string
		err := chromedp.Run(ctx, chromedp.Evaluate(`(document.querySelector(`+strconvQuote(sel)+`) || {}).textContent || ''`, &got))
		if err == nil && strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %q (last %q, err %v)", sel, want, got, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// watchLiveLogs waits for lines to arrive over server-sent events after the
// page loaded, and checks a "<script>" line shows as text.
func watchLiveLogs(t *testing.T, ctx context.Context, appURL string) {
	t.Helper()
	var before int
	run(t, ctx, "reloading the app page", chromedp.Navigate(appURL), chromedp.WaitVisible(`#logs`),
		chromedp.Evaluate(`document.querySelectorAll('#logs div').length`, &before))
	deadline := time.Now().Add(30 * time.Second)
	for {
		var after int
		var last string
		run(t, ctx, "reading live logs", chromedp.Evaluate(`document.querySelectorAll('#logs div').length`, &after),
			chromedp.Evaluate(`(document.querySelector('#logs div:last-child') || {}).textContent || ''`, &last))
		if after > before && strings.Contains(last, "tick") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no live log line arrived: %d lines before, %d now, last %q", before, after, last)
		}
		time.Sleep(300 * time.Millisecond)
	}
	var logs string
	var scripts int
	run(t, ctx, "reading logs", chromedp.Text(`#logs`, &logs, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('#logs script').length`, &scripts))
	if !strings.Contains(logs, "<script>alert(1)</script>") || scripts != 0 {
		t.Errorf("the <script> log line is not shown as text (scripts in #logs: %d)", scripts)
	}
}

// TestAccessControl is issue 6's acceptance 2: anonymous requests are
// refused, a form without a CSRF token is refused, and a member cannot see
// or change an app they were not granted over the API, the dashboard or SSH.
func TestAccessControl(t *testing.T) {
	docker := testenv.Docker(t)
	testenv.Busybox(t)
	d := newDaemon(t)
	d.start(t)
	base := "http://" + d.apiAddr
	mine, theirs := uniqueApp("mine"), uniqueApp("theirs")
	t.Cleanup(func() { removeAppContainers(docker, mine); removeAppContainers(docker, theirs) })
	for _, args := range [][]string{{"apps:create", mine}, {"apps:create", theirs}} {
		if out, err := d.cli(t, args...); err != nil {
			t.Fatalf("wharf %v: %v\n%s", args, err, out)
		}
	}
	out, err := d.cli(t, "users:add", "bob", "--password", "bob-password")
	if err != nil {
		t.Fatalf("users:add: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`API token \(shown once[^:]*\): (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("users:add printed no token:\n%s", out)
	}
	bob := m[1]
	if out, err := d.cli(t, "access:add", "-a", mine, "bob"); err != nil {
		t.Fatalf("access:add: %v\n%s", err, out)
	}

	t.Run("anonymous", func(t *testing.T) {
		for _, path := range []string{"/", "/apps/" + mine, "/apps/new", "/keys", "/users", "/apps/" + mine + "/logs/stream"} {
			if status, loc := request(t, "GET", base+path, "", nil); status != http.StatusSeeOther || loc != "/login" {
				t.Errorf("anonymous GET %s: %d → %q, want 303 → /login", path, status, loc)
			}
		}
		for _, path := range []string{"/api/v1/apps", "/api/v1/apps/" + mine, "/api/v1/apps/" + mine + "/logs", "/api/v1/users", "/api/v1/activity"} {
			if status, _ := request(t, "GET", base+path, "", nil); status != http.StatusUnauthorized {
				t.Errorf("anonymous GET %s: %d, want 401", path, status)
			}
		}
	})

	t.Run("API", func(t *testing.T) {
		var apps []struct{ Name string }
		if status, body := request(t, "GET", base+"/api/v1/apps", bob, nil); status != 200 || json.Unmarshal([]byte(body), &apps) != nil || len(apps) != 1 || apps[0].Name != mine {
			t.Errorf("bob's app list: %d %s, want only %s", status, body, mine)
		}
		for _, r := range []struct{ method, path string }{
			{"GET", "/apps/" + theirs}, {"GET", "/apps/" + theirs + "/logs"}, {"GET", "/apps/" + theirs + "/releases"},
			{"DELETE", "/apps/" + theirs}, {"PATCH", "/apps/" + theirs + "/config"}, {"GET", "/users"},
		} {
			if status, body := request(t, r.method, base+"/api/v1"+r.path, bob, strings.NewReader(`{"set":{"A":"1"}}`)); status != http.StatusForbidden {
				t.Errorf("bob %s %s: %d %s, want 403", r.method, r.path, status, body)
			}
		}
		if status, body := request(t, "GET", base+"/api/v1/apps/"+mine, bob, nil); status != 200 {
			t.Errorf("bob GET his app: %d %s", status, body)
		}
	})

	t.Run("dashboard", func(t *testing.T) {
		c := dashboardLogin(t, base, "bob", "bob-password")
		if status, body := c.get(base + "/"); status != 200 || strings.Contains(body, theirs) || !strings.Contains(body, mine) {
			t.Errorf("bob's apps page: %d, shows %s: %v, shows %s: %v", status, theirs, strings.Contains(body, theirs), mine, strings.Contains(body, mine))
		}
		if status, _ := c.get(base + "/apps/" + theirs); status != http.StatusForbidden {
			t.Errorf("bob's page of %s: %d, want 403", theirs, status)
		}
		if status, _ := c.post(base+"/apps/"+theirs+"/config", url.Values{"csrf": {c.csrf}, "key": {"A"}, "value": {"1"}}); status != http.StatusForbidden {
			t.Errorf("bob's config form on %s: %d, want 403", theirs, status)
		}
		if status, _ := c.post(base+"/apps", url.Values{"name": {uniqueApp("nocsrf")}}); status != http.StatusForbidden {
			t.Errorf("form post without a csrf token: %d, want 403", status)
		}
		if status, _ := c.get(base + "/users"); status != http.StatusForbidden {
			t.Errorf("bob's users page: %d, want 403", status)
		}
	})

	t.Run("passwords and activity", func(t *testing.T) {
		if out, err := d.cliAs(t, bob, "users:passwd", "admin", "--password", "stolen-pass").CombinedOutput(); err == nil {
			t.Errorf("bob changed admin's password:\n%s", out)
		}
		if out, err := d.cliAs(t, bob, "users:passwd", "--password", "bob-new-password").CombinedOutput(); err != nil {
			t.Fatalf("bob's users:passwd: %v\n%s", err, out)
		}
		dashboardLogin(t, base, "bob", "bob-new-password")
		out, err := d.cli(t, "activity", "-a", mine)
		if err != nil || !strings.Contains(out, "gave bob access to "+mine) || !strings.Contains(out, "created app "+mine) {
			t.Errorf("wharf activity -a %s: %v\n%s", mine, err, out)
		}
		if out, _ := d.cliAs(t, bob, "activity").CombinedOutput(); strings.Contains(string(out), theirs) {
			t.Errorf("bob's activity shows %s:\n%s", theirs, out)
		}
		if out, err := d.cli(t, "users"); err != nil || !regexp.MustCompile(`bob\s+member\s+`+mine).MatchString(out) {
			t.Errorf("wharf users: %v\n%s", err, out)
		}
	})

	t.Run("SSH", func(t *testing.T) {
		p := newPusher(t, d.sshAddr)
		cmd := d.cliAs(t, bob, "keys:add", p.key+".pub")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("bob's keys:add: %v\n%s", err, out)
		}
		p.commit(t, "v1", dockerfileApp("bob's\n"))
		out, err := p.gitErr("push", "ssh://git@"+d.sshAddr+"/"+theirs+".git", "main")
		if err == nil || !strings.Contains(out, "have no access to app \""+theirs+"\"") {
			t.Errorf("bob's push to %s: err %v, output:\n%s", theirs, err, out)
		}
		if out, err := p.gitErr("push", "ssh://git@"+d.sshAddr+"/"+mine+".git", "main"); err != nil {
			t.Errorf("bob's push to his app %s: %v\n%s", mine, err, out)
		}
	})
}

// cliAs is the wharf CLI with another API token.
func (d *daemon) cliAs(t *testing.T, token string, args ...string) *exec.Cmd {
	_, wharf := binaries(t)
	cmd := exec.Command(wharf, args...)
	cmd.Env = append(os.Environ(), "WHARF_API=http://"+d.apiAddr, "WHARF_TOKEN="+token)
	return cmd
}

// request sends one request without following redirects and returns the
// status and the Location (or the body).
func request(t *testing.T, method, u, token string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if loc := res.Header.Get("Location"); loc != "" {
		return res.StatusCode, loc
	}
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// formClient is a cookie-keeping client logged in to the dashboard.
type formClient struct {
	http *http.Client
	csrf string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func dashboardLogin(t *testing.T, base, user, password string) *formClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &formClient{http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	_, page := c.get(base + "/login")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf on the login page:\n%s", page)
	}
	if status, _ := c.post(base+"/login", url.Values{"csrf": {m[1]}, "username": {user}, "password": {password}}); status != http.StatusSeeOther {
		t.Fatalf("login as %s: status %d", user, status)
	}
	_, page = c.get(base + "/")
	if m = csrfRE.FindStringSubmatch(page); m == nil {
		t.Fatalf("no csrf on the apps page:\n%s", page)
	}
	c.csrf = m[1]
	return c
}

func (c *formClient) get(u string) (int, string) {
	res, err := c.http.Get(u)
	if err != nil {
		return 0, fmt.Sprint(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (c *formClient) post(u string, form url.Values) (int, string) {
	res, err := c.http.PostForm(u, form)
	if err != nil {
		return 0, fmt.Sprint(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
