package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// tickingApp serves index.html and prints "<tag> tick N" every 200ms.
func tickingApp(tag string) map[string]string {
	return map[string]string{
		"Dockerfile": "FROM " + testenv.BusyboxImage + "\nCOPY index.html /www/index.html\nCOPY run.sh /run.sh\nCMD [\"sh\", \"/run.sh\"]\n",
		"index.html": tag + "\n",
		"run.sh": "i=0\n(while true; do echo \"" + tag + " tick $i\"; i=$((i+1)); sleep 0.2; done) &\n" +
			"echo '<script>alert(1)</script> " + tag + "'\nexec httpd -f -p $PORT -h /www\n",
	}
}

// TestLogsAcrossRedeploy is issue 6's acceptance 3: `wharf logs -t` keeps
// printing across a redeploy, and -n returns lines from before it.
func TestLogsAcrossRedeploy(t *testing.T) {
	docker := testenv.Docker(t)
	testenv.Busybox(t)
	d := newDaemon(t)
	d.start(t)
	p := newPusher(t, d.sshAddr)
	app := uniqueApp("logs")
	t.Cleanup(func() { removeAppContainers(docker, app) })
	if out, err := d.cli(t, "keys:add", p.key+".pub"); err != nil {
		t.Fatalf("keys:add: %v\n%s", err, out)
	}
	p.git(t, "remote", "add", "wharf", "ssh://git@"+d.sshAddr+"/"+app+".git")
	p.commit(t, "v1", tickingApp("v1"))
	if out, err := p.gitErr("push", "wharf", "main"); err != nil {
		t.Fatalf("push v1: %v\n%s", err, out)
	}
	waitFor(t, 20*time.Second, "v1 lines in wharf logs", func() (bool, string) {
		out, _ := d.cli(t, "logs", "-a", app, "-n", "50")
		return strings.Contains(out, " web.1: v1 tick"), out
	})

	follow := d.follow(t, "logs", "-a", app, "-t", "-n", "5")
	p.commit(t, "v2", tickingApp("v2"))
	if out, err := p.gitErr("push", "wharf", "main"); err != nil {
		t.Fatalf("push v2: %v\n%s", err, out)
	}
	waitFor(t, 20*time.Second, "wharf logs -t printing v2 lines after the redeploy", func() (bool, string) {
		out := follow.String()
		return strings.Contains(out, "web.1: v1 tick") && strings.Contains(out, "web.1: v2 tick"), out
	})

	// A daemon restart ends the stream; wharf logs -t reconnects and goes on.
	seen := len(follow.String())
	d.stop(t)
	d.start(t)
	waitFor(t, 30*time.Second, "wharf logs -t printing again after a daemon restart", func() (bool, string) {
		out := follow.String()
		return strings.Contains(out[seen:], "web.1: v2 tick"), out[seen:]
	})
	if lines := strings.Split(follow.String(), "\n"); hasDuplicates(lines) {
		t.Errorf("wharf logs -t printed a line twice across the restart")
	}

	out, err := d.cli(t, "logs", "-a", app, "-n", "10000")
	if err != nil {
		t.Fatalf("wharf logs: %v\n%s", err, out)
	}
	for _, want := range []string{"web.1: v1 tick 0", "web.1: <script>alert(1)</script> v1", "web.1: v2 tick"} {
		if !strings.Contains(out, want) {
			t.Errorf("wharf logs -n 10000 after the redeploy lacks %q:\n%s", want, out)
		}
	}
	if out, _ := d.cli(t, "logs", "-a", app, "-n", "3"); strings.Count(out, "\n") != 3 {
		t.Errorf("wharf logs -n 3 printed %d lines:\n%s", strings.Count(out, "\n"), out)
	}
	if out, _ := d.cli(t, "logs", "-a", app, "--process", "worker"); strings.TrimSpace(out) != "" {
		t.Errorf("wharf logs --process worker printed web lines:\n%s", out)
	}
}

// follow starts the CLI in the background; its output is in the buffer it
// returns, and it is stopped when the test ends.
func (d *daemon) follow(t *testing.T, args ...string) *testenv.SyncBuffer {
	t.Helper()
	_, wharf := binaries(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, wharf, args...)
	cmd.Env = append(os.Environ(), "WHARF_API=http://"+d.apiAddr, "WHARF_TOKEN="+d.token(t))
	buf := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	return buf
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last:\n%s", what, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func hasDuplicates(lines []string) bool {
	seen := map[string]bool{}
	for _, l := range lines {
		if l != "" && seen[l] {
			return true
		}
		seen[l] = true
	}
	return false
}

// TestLogsKeepCrashOutput: a process that dies between two looks of the
// collector still has its last words in wharf logs.
func TestLogsKeepCrashOutput(t *testing.T) {
	docker := testenv.Docker(t)
	testenv.Busybox(t)
	d := newDaemon(t)
	d.start(t)
	p := newPusher(t, d.sshAddr)
	app := uniqueApp("crash")
	t.Cleanup(func() { removeAppContainers(docker, app) })
	if out, err := d.cli(t, "keys:add", p.key+".pub"); err != nil {
		t.Fatalf("keys:add: %v\n%s", err, out)
	}
	files := dockerfileApp("ok\n")
	files["Procfile"] = "web: httpd -f -p $PORT -h /www\nworker: echo worker last words; exit 3\n"
	p.commit(t, "v1", files)
	if out, err := p.gitErr("push", "ssh://git@"+d.sshAddr+"/"+app+".git", "main"); err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	// The deploy of the worker fails (it exits at once) and removes it.
	if out, err := d.cli(t, "ps:scale", "-a", app, "worker=1"); err == nil {
		t.Logf("ps:scale worker=1 succeeded: %s", out)
	}
	waitFor(t, 30*time.Second, "the crashed worker's output in wharf logs", func() (bool, string) {
		out, _ := d.cli(t, "logs", "-a", app, "--process", "worker")
		return strings.Contains(out, "worker.1: worker last words"), out
	})
}
