package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/web"
)

func TestLogsCommand(t *testing.T) {
	h := newHarness(t)
	h.fake.CreateApp(context.Background(), "admin", "hello")
	h.fake.AddLog("hello", "web.1", "listening on 5000")
	h.fake.AddLog("hello", "worker.1", "working")
	h.fake.AddLog("hello", "web.2", "GET /")

	out := h.ok("logs", "-a", "hello")
	mustContain(t, out, " web.1: listening on 5000\n", " worker.1: working\n", " web.2: GET /\n")
	if strings.Index(out, "listening") > strings.Index(out, "GET /") {
		t.Errorf("lines not in order:\n%s", out)
	}
	if out := h.ok("logs", "-a", "hello", "--process", "web", "-n", "1"); strings.Count(out, "\n") != 1 || !strings.Contains(out, "web.2: GET /") {
		t.Errorf("logs --process web -n 1:\n%s", out)
	}
	if msg := h.fail("logs", "-a", "nope"); !strings.Contains(msg, `app "nope" not found`) {
		t.Errorf("logs of a missing app: %s", msg)
	}
}

func TestLogsFollow(t *testing.T) {
	h := newHarness(t)
	h.fake.CreateApp(context.Background(), "admin", "hello")
	h.fake.AddLog("hello", "web.1", "before")
	go func() {
		time.Sleep(500 * time.Millisecond)
		h.fake.AddLog("hello", "web.1", "after")
	}()
	var out strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	code := run(ctx, []string{"logs", "-a", "hello", "-t"}, &out, &out, func(k string) string { return h.env[k] })
	if code != 0 || !strings.Contains(out.String(), "web.1: before\n") || !strings.Contains(out.String(), "web.1: after\n") {
		t.Errorf("logs -t: exit %d, output:\n%s", code, out.String())
	}
}

func TestActivityAndUsersCommands(t *testing.T) {
	h := newHarness(t)
	h.fake.CreateApp(context.Background(), "admin", "hello")
	h.fake.AddEvent(web.Event{App: "hello", Actor: "alice", Kind: "config", Message: "set DATABASE_URL", Time: time.Now()})
	mustContain(t, h.ok("activity", "-a", "hello"), "WHEN", "hello", "alice", "set DATABASE_URL")
	if out := h.ok("activity", "-a", "other"); !strings.Contains(out, "No activity yet.") {
		t.Errorf("activity of an app without events:\n%s", out)
	}

	out := h.ok("users:add", "bob", "--password", "bob-password")
	mustContain(t, out, "Added bob (member).", "API token (shown once; use it as WHARF_TOKEN): token-of-bob")
	h.ok("access:add", "-a", "hello", "bob")
	mustContain(t, h.ok("users"), "admin", "(all)", "bob", "member", "hello")
	mustContain(t, h.ok("access:remove", "-a", "hello", "bob"), "bob no longer has access to hello.")
	if msg := h.fail("access:remove", "-a", "hello", "bob"); !strings.Contains(msg, "has no access") {
		t.Errorf("removing access twice: %s", msg)
	}
	mustContain(t, h.ok("users:passwd", "--password", "a-new-password"), "Changed the password of admin.")
	if msg := h.fail("users:add", "carol", "--role", "root", "--password", "carol-password"); !strings.Contains(msg, `invalid role "root"`) {
		t.Errorf("users:add with a bad role: %s", msg)
	}
}
