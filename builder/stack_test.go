package builder

import (
	"bytes"
	"context"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// TestEnsureStack makes the stack images (slow the first time on a machine:
// debootstrap and apt), then checks a second call reuses them, and that the
// run image has the user app, the runtimes and the static file server.
func TestEnsureStack(t *testing.T) {
	cli := testenv.Docker(t)
	if _, err := exec.LookPath("debootstrap"); err != nil {
		testenv.Missing(t, "debootstrap is not installed (apt-get install debootstrap)")
	}
	b := New(cli, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	var out bytes.Buffer
	start := time.Now()
	st, err := b.EnsureStack(ctx, &out)
	if err != nil {
		t.Fatalf("EnsureStack: %v\n%s", err, out.String())
	}
	t.Logf("FIGURE stack first call: %s (%s, %s)", time.Since(start).Round(time.Millisecond), st.Build, st.Run)
	out.Reset()
	start = time.Now()
	st2, err := b.EnsureStack(ctx, &out)
	if err != nil || st2 != st {
		t.Fatalf("second EnsureStack = %v, %v; want %v", st2, err, st)
	}
	cached := time.Since(start)
	t.Logf("FIGURE stack cached call: %s", cached.Round(time.Millisecond))
	if strings.Contains(out.String(), "Step ") || cached > 10*time.Second {
		t.Errorf("second call rebuilt something (%s):\n%s", cached, out.String())
	}
	got := runIn(t, st.Run, "id app; python3 --version; node --version; test -x /usr/local/bin/wharf-static && echo static-ok")
	for _, want := range []string{"uid=1000(app)", "Python 3.11", "v18", "static-ok"} {
		if !strings.Contains(got, want) {
			t.Errorf("run image: %q missing from\n%s", want, got)
		}
	}
}

// runIn runs a shell script in a throwaway container of img.
func runIn(t *testing.T, img, script string) string {
	t.Helper()
	out, err := exec.Command("docker", "run", "--rm", "--entrypoint", "/bin/sh", img, "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("docker run %s: %v\n%s", img, err, out)
	}
	return string(out)
}
