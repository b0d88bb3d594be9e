package router

import (
	"log/slog"
	"testing"
)

func TestTableBuild(t *testing.T) {
	tb := buildTable([]Route{
		{App: "one", Hosts: []string{"one.localhost", "ONE.example.com.", " spaced.localhost "}},
		{App: "two", Hosts: []string{"one.localhost", "two.localhost"}}, // first route keeps one.localhost
		{App: "bad", Hosts: []string{"", "*", "a.*.com", "x:80", "*.*.com"}},
		{App: "wild", Hosts: []string{"*.Apps.Test"}},
	}, slog.New(slog.DiscardHandler))
	if tb.routes != 3 {
		t.Errorf("routes %d, want 3 (bad has no valid host)", tb.routes)
	}
	for host, want := range map[string]string{
		"one.localhost":    "one",
		"one.example.com":  "one",
		"spaced.localhost": "one",
		"two.localhost":    "two",
		"x.apps.test":      "wild",
		"X.APPS.TEST.:443": "wild",
		"apps.test":        "",
		"a.b.apps.test":    "",
		"x:80":             "",
		"":                 "",
		":80":              "",
		"[::1]:80":         "",
	} {
		got := ""
		if rt := tb.lookup(host); rt != nil {
			got = rt.app
		}
		if got != want {
			t.Errorf("lookup(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	tb := buildTable([]Route{{App: "a", Hosts: []string{"a.localhost", "*.wild.test"}}}, slog.New(slog.DiscardHandler))
	for _, host := range []string{"A.LocalHost:8080", "x.Wild.Test.", "missing.localhost"} {
		if n := testing.AllocsPerRun(100, func() { tb.lookup(host) }); n != 0 {
			t.Errorf("lookup(%q) allocates %v times", host, n)
		}
	}
}

func TestRoundRobinAfter(t *testing.T) {
	b := roundRobin{addrs: []string{"a", "b", "c"}}
	seen := map[int]int{}
	for range 9 {
		seen[b.pick()]++
	}
	if seen[0] != 3 || seen[1] != 3 || seen[2] != 3 {
		t.Errorf("picks %v, want 3 each", seen)
	}
	if next, ok := b.after(2); !ok || next != 0 {
		t.Errorf("after(2) = %d, %v; want 0, true", next, ok)
	}
	single := roundRobin{addrs: []string{"a"}}
	if _, ok := single.after(0); ok {
		t.Error("a single backend has no other to retry on")
	}
}
