package main

import (
	"testing"
	"time"

	"github.com/wharfhq/wharf"
)

func TestBuildsCommands(t *testing.T) {
	h := newHarness(t)
	h.ok("apps:create", "hello")
	mustContain(t, h.ok("builds", "-a", "hello"), "hello has no builds yet")
	mustContain(t, h.fail("builds:output", "-a", "hello"), "hello has no builds yet")

	start := time.Now().Add(-time.Minute)
	h.fake.AddBuild(wharf.Build{App: "hello", Commit: "0123456789abcdef0123456789abcdef01234567", Status: wharf.BuildSucceeded,
		Image: "wharf/hello:1", Output: "-----> Go app detected\n", StartedAt: start, FinishedAt: start.Add(12 * time.Second)})
	h.fake.AddBuild(wharf.Build{App: "hello", Commit: "89abcdef0123456789abcdef0123456789abcdef", Status: wharf.BuildFailed,
		Output: "undefined: x\n", StartedAt: start, FinishedAt: start.Add(3 * time.Second)})

	out := h.ok("builds", "-a", "hello")
	mustContain(t, out, "ID", "STATUS", "0123456", "succeeded", "12s", "wharf/hello:1", "89abcde", "failed")
	if got := h.ok("builds:output", "-a", "hello"); got != "undefined: x\n" {
		t.Errorf("builds:output (newest) = %q", got)
	}
	if got := h.ok("builds:output", "-a", "hello", "1"); got != "-----> Go app detected\n" {
		t.Errorf("builds:output 1 = %q", got)
	}
	mustContain(t, h.fail("builds:output", "-a", "hello", "99"), "build 99 of hello not found")
	mustContain(t, h.fail("builds:output", "-a", "hello", "x"), "invalid build id")

	mustContain(t, h.ok("builds:cache:purge", "-a", "hello"), "Purged the build cache of hello")
	if n := h.fake.CachePurges("hello"); n != 1 {
		t.Errorf("purges = %d, want 1", n)
	}
	mustContain(t, h.fail("builds:cache:purge", "-a", "nope"), `app "nope" not found`)
}
