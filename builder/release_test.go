package builder

import (
	"log/slog"
	"maps"
	"testing"
	"time"

	"github.com/wharfhq/wharf"
)

func TestParseRelease(t *testing.T) {
	doc := "---\naddons: []\ndefault_process_types:\n  web: bin/server --port $PORT\n  worker: 'python3 worker.py'\nconfig_vars:\n  FOO: bar\n"
	want := map[string]string{"web": "bin/server --port $PORT", "worker": "python3 worker.py"}
	if got := parseRelease(doc); !maps.Equal(got, want) {
		t.Errorf("parseRelease = %v, want %v", got, want)
	}
	if got := parseRelease("--- {}\n"); len(got) != 0 {
		t.Errorf("empty release = %v", got)
	}
}

func TestRequestLimits(t *testing.T) {
	b := New(nil, slog.New(slog.DiscardHandler), WithLimits(Limits{Timeout: time.Minute}))
	l, err := b.requestLimits(map[string]string{"BUILD_TIMEOUT": "90", "BUILD_MEMORY": "512m"})
	if err != nil || l.Timeout != 90*time.Second || l.Memory != 512<<20 {
		t.Errorf("limits = %+v, %v", l, err)
	}
	if l, _ := b.requestLimits(nil); l.Timeout != time.Minute || l.Memory != 2<<30 {
		t.Errorf("defaults = %+v", l)
	}
	for _, bad := range []map[string]string{{"BUILD_TIMEOUT": "soon"}, {"BUILD_MEMORY": "1k"}} {
		if _, err := b.requestLimits(bad); wharf.ErrorCode(err) != wharf.EINVALID {
			t.Errorf("%v: err = %v, want EINVALID", bad, err)
		}
	}
}

func TestRepoNameAndRedaction(t *testing.T) {
	if got := repoName("https://example.com/heroku/heroku-buildpack-go.git#v1"); got != "heroku-buildpack-go" {
		t.Errorf("repoName = %q", got)
	}
	if got := repoName("file:///../.."); got != "buildpack" {
		t.Errorf("repoName of a dot path = %q", got)
	}
	if got := redactURL("https://user:secret@example.com/bp.git"); got != "https://user:xxxxx@example.com/bp.git" {
		t.Errorf("redactURL = %q", got)
	}
}
