package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/web"
	"github.com/wharfhq/wharf/web/webtest"
)

// testKey is a valid ed25519 public key line.
const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop"

// harness is a CLI pointed at an API server backed by the fake service.
type harness struct {
	t    *testing.T
	fake *webtest.Fake
	env  map[string]string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	fake := webtest.New()
	srv := httptest.NewServer(web.NewHandler(fake, nil))
	t.Cleanup(srv.Close)
	return &harness{t: t, fake: fake, env: map[string]string{
		"WHARF_API":   srv.URL,
		"WHARF_TOKEN": webtest.Token,
		"HOME":        t.TempDir(),
	}}
}

// run runs the CLI and returns its stdout, stderr and exit code.
func (h *harness) run(args ...string) (string, string, int) {
	h.t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := run(ctx, args, &out, &errOut, func(k string) string { return h.env[k] })
	return out.String(), errOut.String(), code
}

// ok runs the CLI, requires success and returns stdout.
func (h *harness) ok(args ...string) string {
	h.t.Helper()
	out, errOut, code := h.run(args...)
	if code != 0 || errOut != "" {
		h.t.Fatalf("wharf %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
	}
	return out
}

// fail runs the CLI, requires exit 1 with one "wharf: ..." line on stderr
// and nothing on stdout, and returns that line.
func (h *harness) fail(args ...string) string {
	h.t.Helper()
	out, errOut, code := h.run(args...)
	if code != 1 {
		h.t.Fatalf("wharf %s: exit %d, want 1 (stdout %q)", strings.Join(args, " "), code, out)
	}
	if !strings.HasPrefix(errOut, "wharf: ") || strings.Count(errOut, "\n") != 1 || !strings.HasSuffix(errOut, "\n") {
		h.t.Fatalf("wharf %s: stderr %q, want one line starting with \"wharf: \"", strings.Join(args, " "), errOut)
	}
	if out != "" {
		h.t.Errorf("wharf %s: a failure printed %q to stdout", strings.Join(args, " "), out)
	}
	return strings.TrimSuffix(errOut, "\n")
}

func mustContain(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("--json output does not parse as %T: %v\n%s", v, err, s)
	}
	return v
}

func TestAppsCommands(t *testing.T) {
	h := newHarness(t)
	mustContain(t, h.ok("apps"), "No apps yet", "wharf apps:create NAME")

	out := h.ok("apps:create", "hello")
	mustContain(t, out, "Created app hello.", "http://hello.localhost:8080",
		"git remote add wharf ssh://git@127.0.0.1:2222/hello.git", "git push wharf main")
	created := decodeJSON[web.AppInfo](t, h.ok("apps:create", "world", "--json"))
	if created.Name != "world" || created.GitRemote == "" {
		t.Errorf("apps:create --json = %+v", created)
	}
	if msg := h.fail("apps:create", "hello"); msg != `wharf: app "hello" already exists` {
		t.Errorf("duplicate: %q", msg)
	}
	mustContain(t, h.fail("apps:create", "Bad_Name"), "invalid app name")
	mustContain(t, h.fail("apps:create"), "usage: wharf apps:create NAME")

	h.fake.Deploy("hello", wharf.Release{Version: 2, Image: "wharf/hello:v2", Status: wharf.ReleaseDeployed, Commit: "abc1234"},
		[]wharf.Process{{Type: "web", Instance: 1, Release: 2, State: "running", ContainerName: "wharf-hello-web-1", StartedAt: time.Now().Add(-90 * time.Minute)}})
	lines := strings.Split(strings.TrimSpace(h.ok("apps")), "\n")
	if len(lines) != 3 {
		t.Fatalf("apps: want a header and 2 rows, got:\n%s", strings.Join(lines, "\n"))
	}
	assertAligned(t, lines)
	mustContain(t, lines[1], "hello", "v2", "1/1 running", "http://hello.localhost:8080")
	mustContain(t, lines[2], "world", "0/0 running")
	apps := decodeJSON[[]web.AppInfo](t, h.ok("apps", "--json"))
	if len(apps) != 2 || apps[0].Release == nil || apps[0].Release.Version != 2 {
		t.Errorf("apps --json = %+v", apps)
	}

	info := h.ok("apps:info", "-a", "hello")
	mustContain(t, info, "=== hello", "ssh://git@127.0.0.1:2222/hello.git", "v2 (deployed)", "abc1234", "web.1", "1h30m", "wharf-hello-web-1")
	if got := decodeJSON[web.AppInfo](t, h.ok("apps:info", "--json", "-a", "hello")); got.URL != "http://hello.localhost:8080" || len(got.Processes) != 1 {
		t.Errorf("apps:info --json = %+v", got)
	}
	mustContain(t, h.ok("apps:info", "-a", "world"), "none yet")
	if msg := h.fail("apps:info", "-a", "nope"); msg != `wharf: app "nope" not found` {
		t.Errorf("unknown app: %q", msg)
	}
}

// assertAligned checks that the second column starts at the same offset on
// every line of a table.
func assertAligned(t *testing.T, lines []string) {
	t.Helper()
	want := secondColumn(lines[0])
	for _, l := range lines[1:] {
		if got := secondColumn(l); got != want || got < 0 {
			t.Errorf("columns not aligned:\n%s", strings.Join(lines, "\n"))
			return
		}
	}
}

// secondColumn returns where the text after the first run of two or more
// spaces starts, or -1.
func secondColumn(s string) int {
	i := strings.Index(s, "  ")
	if i < 0 {
		return -1
	}
	return len(s) - len(strings.TrimLeft(s[i:], " "))
}

func TestAppsDestroyNeedsConfirmation(t *testing.T) {
	h := newHarness(t)
	h.ok("apps:create", "hello")
	mustContain(t, h.fail("apps:destroy", "-a", "hello"), "to go ahead, run: wharf apps:destroy -a hello --confirm hello")
	mustContain(t, h.fail("apps:destroy", "-a", "hello", "--confirm", "hallo"), `--confirm "hallo" does not match`)
	if d := h.fake.Destroyed(); len(d) != 0 {
		t.Fatalf("destroyed without confirmation: %v", d)
	}
	mustContain(t, h.ok("apps:destroy", "-a", "hello", "--confirm", "hello"), "Destroyed app hello.")
	if d := h.fake.Destroyed(); len(d) != 1 || d[0] != "hello" {
		t.Errorf("destroyed = %v", d)
	}
	mustContain(t, h.fail("apps:destroy", "-a", "hello", "--confirm", "hello"), `app "hello" not found`)
}

func TestPs(t *testing.T) {
	h := newHarness(t)
	h.ok("apps:create", "hello")
	mustContain(t, h.ok("ps", "-a", "hello"), "hello has no processes")
	now := time.Now()
	h.fake.Deploy("hello", wharf.Release{Version: 7, Status: wharf.ReleaseDeployed}, []wharf.Process{
		{Type: "web", Instance: 1, Release: 7, State: "running", ContainerName: "wharf-hello-web-1", StartedAt: now.Add(-90 * time.Minute)},
		{Type: "worker", Instance: 12, Release: 7, State: "exited", ContainerName: "wharf-hello-worker-12", StartedAt: now.Add(-time.Hour),
			Restarts: 3, ExitCode: 137, OOMKilled: true, LastLog: "allocating\nkilled"},
	})
	out := h.ok("ps", "-a", "hello")
	mustContain(t, out, "worker.12 exited with code 137 (out of memory); last log lines:\n  allocating\n  killed")
	lines := strings.Split(strings.TrimSpace(strings.Split(out, "\n\n")[0]), "\n")
	if len(lines) != 3 {
		t.Fatalf("ps: want a header and 2 rows:\n%s", strings.Join(lines, "\n"))
	}
	assertAligned(t, lines)
	if f := strings.Fields(lines[0]); strings.Join(f, " ") != "PROCESS STATE RELEASE UPTIME RESTARTS CONTAINER" {
		t.Errorf("ps header = %q", lines[0])
	}
	if f := strings.Join(strings.Fields(lines[1]), " "); f != "web.1 running v7 1h30m 0 wharf-hello-web-1" {
		t.Errorf("ps row = %q", f)
	}
	if f := strings.Join(strings.Fields(lines[2]), " "); f != "worker.12 exited v7 - 3 wharf-hello-worker-12" {
		t.Errorf("ps row = %q", f)
	}
	raw := h.ok("ps", "-a", "hello", "--json")
	if !strings.HasSuffix(raw, "]\n") {
		t.Errorf("ps --json should end in one newline: %q", raw[max(0, len(raw)-10):])
	}
	procs := decodeJSON[[]wharf.Process](t, raw)
	if len(procs) != 2 || procs[1].Instance != 12 {
		t.Errorf("ps --json = %+v", procs)
	}
	mustContain(t, h.fail("ps"), "no app given: pass -a APP")
	mustContain(t, h.fail("ps", "-a", "nope"), `app "nope" not found`)
}

func TestAppFromGitRemote(t *testing.T) {
	testenv.Binary(t, "git")
	h := newHarness(t)
	h.ok("apps:create", "hello")
	dir := t.TempDir()
	for _, args := range [][]string{{"init", "-q"}, {"remote", "add", "wharf", "ssh://git@127.0.0.1:2222/hello.git"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	t.Chdir(dir)
	mustContain(t, h.ok("ps"), "hello has no processes")
	mustContain(t, h.ok("apps:info"), "=== hello")
	mustContain(t, h.fail("apps:destroy"), "--confirm hello")
}

func TestAppFromRemoteURL(t *testing.T) {
	for u, want := range map[string]string{
		"ssh://git@127.0.0.1:2222/hello.git": "hello",
		"git@example.com:my-app.git":         "my-app",
		"ssh://git@host/hello":               "",
		"ssh://git@host/Bad_Name.git":        "",
		"":                                   "",
	} {
		if got, _ := appFromRemoteURL(u); got != want {
			t.Errorf("appFromRemoteURL(%q) = %q, want %q", u, got, want)
		}
	}
}

func TestKeysCommands(t *testing.T) {
	h := newHarness(t)
	mustContain(t, h.ok("keys"), "No SSH keys yet")

	file := filepath.Join(t.TempDir(), "alice.pub")
	writeFile(t, file, testKey+"\n")
	mustContain(t, h.ok("keys:add", file), "Added key alice@laptop (SHA256:")
	mustContain(t, h.fail("keys:add", file, "--name", "again"), "already added")

	// With no FILE, ~/.ssh/id_ed25519.pub is used; its comment names it.
	gen := sshKeygen(t, filepath.Join(h.env["HOME"], ".ssh", "id_ed25519"), "Bob Smith (work)")
	mustContain(t, h.ok("keys:add"), "Added key Bob-Smith-work", gen+".pub")

	// A key without a comment is named after its fingerprint.
	bare := sshKeygen(t, filepath.Join(t.TempDir(), "id"), "")
	k := decodeJSON[wharf.Key](t, h.ok("keys:add", "--json", bare+".pub"))
	if !strings.HasPrefix(k.Name, "key-") || len(k.Name) != 12 {
		t.Errorf("comment-less key named %q, want key-<8 hex>", k.Name)
	}
	named := sshKeygen(t, filepath.Join(t.TempDir(), "id"), "x")
	mustContain(t, h.ok("keys:add", named+".pub", "--name", "ci"), "Added key ci ")

	lines := strings.Split(strings.TrimSpace(h.ok("keys")), "\n")
	if len(lines) != 5 {
		t.Fatalf("keys: want a header and 4 rows:\n%s", strings.Join(lines, "\n"))
	}
	assertAligned(t, lines)
	mustContain(t, strings.Join(lines, "\n"), "NAME", "FINGERPRINT", "alice@laptop", "Bob-Smith-work", "ci", webtest.User)
	if keys := decodeJSON[[]wharf.Key](t, h.ok("keys", "--json")); len(keys) != 4 {
		t.Errorf("keys --json = %+v", keys)
	}

	mustContain(t, h.ok("keys:remove", "alice@laptop"), "Removed key alice@laptop.")
	mustContain(t, h.fail("keys:remove", "alice@laptop"), `key "alice@laptop" not found`)
	mustContain(t, h.fail("keys:add", gen), "is a private key")
	mustContain(t, h.fail("keys:add", filepath.Join(t.TempDir(), "missing.pub")), "does not exist")
	junk := filepath.Join(t.TempDir(), "junk.pub")
	writeFile(t, junk, "hello\n")
	mustContain(t, h.fail("keys:add", junk), "does not hold an SSH public key")
}

func TestKeysAddWithoutAnyKey(t *testing.T) {
	h := newHarness(t)
	mustContain(t, h.fail("keys:add"), "no public key found", "id_ed25519.pub, id_ecdsa.pub, id_rsa.pub")
}

func TestSanitizeKeyName(t *testing.T) {
	for in, want := range map[string]string{
		"alice@laptop":          "alice@laptop",
		"Bob Smith (work)":      "Bob-Smith-work",
		"  é ":                  "",
		"--x--":                 "x",
		strings.Repeat("a", 80): strings.Repeat("a", 64),
	} {
		if got := sanitizeKeyName(in); got != want {
			t.Errorf("sanitizeKeyName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorsAreOneLineWithHints(t *testing.T) {
	h := newHarness(t)
	mustContain(t, h.fail("frobnicate"), `unknown command "frobnicate"`, "wharf help")
	mustContain(t, h.fail("apps", "--bogus"), "flag provided but not defined")

	h.env["WHARF_TOKEN"] = "wrong"
	mustContain(t, h.fail("apps"), "invalid API token", "WHARF_TOKEN", "admin-token")
	delete(h.env, "WHARF_TOKEN")
	mustContain(t, h.fail("keys"), "no API token", "WHARF_TOKEN", "admin-token")

	h.env["WHARF_API"] = "http://127.0.0.1:1"
	mustContain(t, h.fail("apps"), "could not reach the Wharf API at http://127.0.0.1:1", "WHARF_API")
	h.env["WHARF_API"] = "127.0.0.1:8000"
	mustContain(t, h.fail("apps"), "WHARF_API", "not an http(s) URL")
}

func TestInternalErrorsStayInternal(t *testing.T) {
	h := newHarness(t)
	h.fake.SetBefore(func(string) error { return os.ErrPermission })
	if msg := h.fail("apps"); msg != "wharf: internal error" {
		t.Errorf("internal error shown as %q", msg)
	}
}

func TestHelp(t *testing.T) {
	h := newHarness(t)
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {}} {
		out := h.ok(args...)
		for _, c := range commands() {
			mustContain(t, out, "  "+c.name+" ")
		}
		mustContain(t, out, "WHARF_API", "WHARF_TOKEN")
	}
	mustContain(t, h.ok("apps:destroy", "--help"), "Usage: wharf apps:destroy -a APP --confirm APP")
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// sshKeygen makes an ed25519 key pair at path with the comment and returns path.
func sshKeygen(t *testing.T, path, comment string) string {
	t.Helper()
	keygen := testenv.Binary(t, "ssh-keygen")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	return path
}
