package gitreceiver_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/gitreceiver"
)

const zeroHash = "0000000000000000000000000000000000000000"

// inQuarantine reports whether commit's objects can be read from the
// quarantine git gave the hook.
func inQuarantine(p gitreceiver.Push, commit string) error {
	cmd := exec.Command("git", "--git-dir", p.RepoPath, "cat-file", "-e", commit+"^{tree}")
	cmd.Env = append(os.Environ(), "GIT_OBJECT_DIRECTORY="+p.QuarantineDir,
		"GIT_ALTERNATE_OBJECT_DIRECTORIES="+filepath.Join(p.RepoPath, "objects"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("cat-file in quarantine %q: %v: %s", p.QuarantineDir, err, out)
	}
	return nil
}

func TestPushNewAppThenFastForwardThenClone(t *testing.T) {
	h := start(t)
	var quarantineErr error
	h.pushes.set(func(ctx context.Context, p gitreceiver.Push, out io.Writer) error {
		quarantineErr = inQuarantine(p, p.Refs[0].New)
		fmt.Fprintf(out, "-----> building %s for %s\n", p.App, p.User)
		return nil
	})
	work := h.newWorkTree("myapp")
	first := strings.TrimSpace(h.git(work, "rev-parse", "HEAD"))
	out := h.git(work, "push", "wharf", "main")
	if !strings.Contains(out, "remote: -----> building myapp for alice") {
		t.Errorf("push output lacks the handler's line as remote:\n%s", out)
	}
	got := h.pushes.all()
	if len(got) != 1 {
		t.Fatalf("handler got %d pushes, want 1", len(got))
	}
	p := got[0]
	want := gitreceiver.RefUpdate{Old: zeroHash, New: first, Name: "refs/heads/main"}
	if p.App != "myapp" || p.User != "alice" || len(p.Refs) != 1 || p.Refs[0] != want {
		t.Errorf("push = %+v, want app myapp, user alice, refs [%+v]", p, want)
	}
	if p.RepoPath != gitreceiver.RepoPath(h.reposDir, "myapp") {
		t.Errorf("RepoPath = %q", p.RepoPath)
	}
	if p.QuarantineDir == "" || quarantineErr != nil {
		t.Errorf("pushed objects not readable in quarantine %q: %v", p.QuarantineDir, quarantineErr)
	}
	if !h.apps.has("myapp") {
		t.Error("the app was not created on first push")
	}
	if ref := h.serverRef("myapp", "refs/heads/main"); ref != first {
		t.Errorf("server main = %q, want %q", ref, first)
	}
	if head := h.serverRef("myapp", "HEAD"); head != first {
		t.Errorf("server HEAD = %q, want main's %q", head, first)
	}
	checkHookScript(t, h)
	if log := h.log.String(); !strings.Contains(log, `command="git-receive-pack 'myapp'" app=myapp`) || !strings.Contains(log, "user=alice") || !strings.Contains(log, "exit=0") {
		t.Errorf("session not logged with user, command, app and exit:\n%s", log)
	}

	second := h.commit(work, "second")
	h.git(work, "push", "wharf", "main")
	got = h.pushes.all()
	if len(got) != 2 || got[1].Refs[0] != (gitreceiver.RefUpdate{Old: first, New: second, Name: "refs/heads/main"}) {
		t.Errorf("second push refs = %+v, want %s..%s", got[len(got)-1].Refs, first, second)
	}
	if ref := h.serverRef("myapp", "refs/heads/main"); ref != second {
		t.Errorf("after fast-forward server main = %q, want %q", ref, second)
	}

	clone := filepath.Join(t.TempDir(), "clone")
	h.git(filepath.Dir(clone), "clone", "-q", h.remote("myapp"), clone)
	if head := strings.TrimSpace(h.git(clone, "rev-parse", "HEAD")); head != second {
		t.Errorf("clone HEAD = %q, want %q", head, second)
	}
	if b, _ := os.ReadFile(filepath.Join(clone, "README")); string(b) != "second\n" {
		t.Errorf("cloned README = %q", b)
	}
}

func checkHookScript(t *testing.T, h *harness) {
	t.Helper()
	path := filepath.Join(gitreceiver.RepoPath(h.reposDir, "myapp"), "hooks", "pre-receive")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("hook mode = %v, want 0755", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "exec '"+h.hookBin+"' hook pre-receive") {
		t.Errorf("hook script does not exec the binary:\n%s", b)
	}
}

func TestHandlerOutputStreamsBeforeItReturns(t *testing.T) {
	h := start(t)
	seen := make(chan struct{})
	h.pushes.set(func(ctx context.Context, p gitreceiver.Push, out io.Writer) error {
		fmt.Fprintln(out, "step one")
		select {
		case <-seen:
		case <-time.After(20 * time.Second):
			return wharf.Errorf(wharf.EINTERNAL, "the first line never reached the pusher")
		}
		fmt.Fprintln(out, "step two")
		return nil
	})
	work := h.newWorkTree("streamer")
	cmd := h.gitCmd(work, h.key, "push", "--progress", "wharf", "main")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	sc := bufio.NewScanner(stderr)
	sc.Split(scanLinesOrCR)
	once := sync.Once{}
	for sc.Scan() {
		all.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "remote: step one") {
			once.Do(func() { close(seen) })
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("push: %v\n%s", err, all.String())
	}
	out := all.String()
	if !strings.Contains(out, "remote: step two") {
		t.Errorf("missing later output:\n%s", out)
	}
}

// scanLinesOrCR splits on \n and on \r (git's progress lines).
func scanLinesOrCR(data []byte, atEOF bool) (int, []byte, error) {
	for i, b := range data {
		if b == '\n' || b == '\r' {
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

func TestHandlerErrorRejectsPush(t *testing.T) {
	h := start(t)
	work := h.newWorkTree("rejected")
	first := strings.TrimSpace(h.git(work, "rev-parse", "HEAD"))
	h.git(work, "push", "wharf", "main")

	h.pushes.set(func(ctx context.Context, p gitreceiver.Push, out io.Writer) error {
		fmt.Fprintln(out, "-----> detecting buildpack")
		return wharf.Errorf(wharf.EINVALID, "build failed: no Procfile")
	})
	h.commit(work, "broken")
	out, err := h.tryGit(work, h.key, "push", "wharf", "main")
	if err == nil {
		t.Fatalf("push succeeded, want rejected:\n%s", out)
	}
	for _, want := range []string{"remote: -----> detecting buildpack", "remote: error: build failed: no Procfile", "[remote rejected]"} {
		if !strings.Contains(out, want) {
			t.Errorf("push output lacks %q:\n%s", want, out)
		}
	}
	if ref := h.serverRef("rejected", "refs/heads/main"); ref != first {
		t.Errorf("server main = %q after a rejected push, want it unchanged at %q", ref, first)
	}
}

func TestUnknownKeyIsDenied(t *testing.T) {
	h := start(t)
	stranger, _ := newClientKey(t, t.TempDir(), "mallory")
	work := h.newWorkTree("myapp")
	out, err := h.tryGit(work, stranger, "push", "wharf", "main")
	if err == nil || !strings.Contains(out, "Permission denied (publickey)") {
		t.Errorf("push with an unknown key: err %v, output:\n%s", err, out)
	}
	if h.apps.has("myapp") || len(h.pushes.all()) != 0 {
		t.Error("an unknown key created an app or a push")
	}
}

func TestOnlyGitCommandsAreAllowed(t *testing.T) {
	h := start(t)
	const notAllowed = "wharf: command not allowed: only git push and git fetch are served here"
	tests := []struct{ command, want string }{
		{"", notAllowed},
		{"ls", notAllowed},
		{"git-receive-pack 'a' 'b'", notAllowed},
		{"git-receive-pack a;id", notAllowed},
		{"git-upload-archive 'myapp'", notAllowed},
		{"git-receive-pack '../x'", `wharf: invalid app name "../x": names must match ` + wharf.AppNameRule},
		{"git-receive-pack 'a;id'", `wharf: invalid app name "a;id": names must match ` + wharf.AppNameRule},
		{"git-receive-pack 'Bad_Name'", `wharf: invalid app name "Bad_Name": names must match ` + wharf.AppNameRule},
		{"git-upload-pack 'nothere'", `wharf: app "nothere" not found`},
	}
	for _, tt := range tests {
		code, stderr := h.ssh(h.key, tt.command)
		lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
		if code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], tt.want) {
			t.Errorf("ssh %q: exit %d, stderr %q; want exit 1 and one line starting %q", tt.command, code, stderr, tt.want)
		}
	}
	entries, _ := os.ReadDir(h.reposDir)
	if len(entries) != 0 || len(h.apps.apps) != 0 {
		t.Errorf("refused commands left repos %v or apps %v", entries, h.apps.apps)
	}
}

func TestPushesToTwoAppsRunTogether(t *testing.T) {
	h := start(t)
	var wg sync.WaitGroup
	wg.Add(2)
	both := make(chan struct{})
	go func() { wg.Wait(); close(both) }()
	h.pushes.set(func(ctx context.Context, p gitreceiver.Push, out io.Writer) error {
		wg.Done()
		select { // both pushes must be in their hook at once
		case <-both:
			fmt.Fprintf(out, "deployed %s\n", p.App)
			return nil
		case <-time.After(20 * time.Second):
			return wharf.Errorf(wharf.EINTERNAL, "the other push never arrived")
		}
	})
	errs := make(chan error, 2)
	for _, app := range []string{"one", "two"} {
		work := h.newWorkTree(app)
		go func() {
			out, err := h.tryGit(work, h.key, "push", "wharf", "main")
			if err == nil && !strings.Contains(out, "remote: deployed "+app) {
				err = fmt.Errorf("missing output:\n%s", out)
			}
			if err != nil {
				err = fmt.Errorf("push %s: %v\n%s", app, err, out)
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for _, app := range []string{"one", "two"} {
		if h.serverRef(app, "refs/heads/main") == "" {
			t.Errorf("%s: main not updated", app)
		}
	}
}

func TestShutdownWaitsForPushInItsHook(t *testing.T) {
	h := start(t)
	entered, release := make(chan struct{}), make(chan struct{})
	h.pushes.set(func(ctx context.Context, p gitreceiver.Push, out io.Writer) error {
		close(entered)
		<-release
		fmt.Fprintln(out, "finished during shutdown")
		return nil
	})
	work := h.newWorkTree("slow")
	pushed := make(chan string, 1)
	go func() {
		out, err := h.tryGit(work, h.key, "push", "wharf", "main")
		if err != nil {
			out = "FAILED: " + err.Error() + "\n" + out
		}
		pushed <- out
	}()
	waitFor(t, entered, "the push to reach its hook")
	shut := make(chan error, 1)
	go func() { shut <- h.srv.Shutdown(context.Background()) }()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a push was in its hook", err)
	case <-time.After(500 * time.Millisecond):
	}
	if code, _ := h.ssh(h.key, "git-upload-pack 'slow'"); code != 255 {
		t.Errorf("new connection during shutdown: ssh exit %d, want 255 (refused)", code)
	}
	close(release)
	if out := <-pushed; strings.HasPrefix(out, "FAILED") || !strings.Contains(out, "remote: finished during shutdown") {
		t.Errorf("push in flight during shutdown:\n%s", out)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if h.serverRef("slow", "refs/heads/main") == "" {
		t.Error("the push that finished during shutdown did not update main")
	}
}

func TestShutdownDeadlineRejectsPushCleanly(t *testing.T) {
	h := start(t)
	entered := make(chan struct{})
	h.pushes.set(func(ctx context.Context, p gitreceiver.Push, out io.Writer) error {
		close(entered)
		<-ctx.Done()
		return ctx.Err()
	})
	work := h.newWorkTree("stuck")
	pushed := make(chan string, 1)
	go func() {
		out, err := h.tryGit(work, h.key, "push", "wharf", "main")
		if err == nil {
			out = "SUCCEEDED\n" + out
		}
		pushed <- out
	}()
	waitFor(t, entered, "the push to reach its hook")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := h.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want deadline exceeded", err)
	}
	out := <-pushed
	if strings.HasPrefix(out, "SUCCEEDED") || !strings.Contains(out, "remote: error: wharf is shutting down") || !strings.Contains(out, "[remote rejected]") {
		t.Errorf("push cut by shutdown:\n%s", out)
	}
	if ref := h.serverRef("stuck", "refs/heads/main"); ref != "" {
		t.Errorf("main = %q after a push cut by shutdown, want no ref", ref)
	}
}

func TestClientDisconnectCancelsHandler(t *testing.T) {
	h := start(t)
	entered, cancelled := make(chan struct{}), make(chan struct{})
	h.pushes.set(func(ctx context.Context, p gitreceiver.Push, out io.Writer) error {
		close(entered)
		select {
		case <-ctx.Done():
			close(cancelled)
		case <-time.After(20 * time.Second):
		}
		return ctx.Err()
	})
	work := h.newWorkTree("gone")
	cmd := h.gitCmd(work, h.key, "push", "wharf", "main")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // git and its ssh, in a group of their own
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, entered, "the push to reach its hook")
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the pusher's link drops
	cmd.Wait()
	waitFor(t, cancelled, "the handler's context to be cancelled")
	if ref := h.serverRef("gone", "refs/heads/main"); ref != "" {
		t.Errorf("main = %q after the pusher went away, want no ref", ref)
	}
}

func TestRunHookWithoutDaemon(t *testing.T) {
	var out strings.Builder
	env := []string{"WHARF_HOOK_SOCKET=" + filepath.Join(t.TempDir(), "none.sock"), "WHARF_APP=a", "WHARF_USER=u"}
	code := gitreceiver.RunHook(context.Background(), strings.NewReader(zeroHash+" "+zeroHash+" refs/heads/main\n"), &out, env)
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if code != 1 || len(lines) != 1 || !strings.Contains(lines[0], "cannot reach the wharf daemon") {
		t.Errorf("RunHook = %d, output %q; want 1 and one line saying the daemon cannot be reached", code, out.String())
	}
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}
