package builder

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/testenv"
)

// gitRepo is a work tree that pushes to a bare repository, both made with
// the real git CLI.
type gitRepo struct {
	t    testing.TB
	git  string
	work string
	bare string
}

func newGitRepo(t testing.TB) *gitRepo {
	t.Helper()
	r := &gitRepo{t: t, git: testenv.Binary(t, "git"), work: t.TempDir(), bare: filepath.Join(t.TempDir(), "app.git")}
	r.run("", "init", "-q", "-b", "main", r.work)
	r.run("", "init", "-q", "--bare", r.bare)
	return r
}

// run runs git in dir (the work tree when dir is "") and returns its
// trimmed stdout.
func (r *gitRepo) run(dir string, args ...string) string {
	r.t.Helper()
	return r.runEnv(dir, nil, args...)
}

func (r *gitRepo) runEnv(dir string, env []string, args ...string) string {
	r.t.Helper()
	if dir == "" {
		dir = r.work
	}
	cmd := exec.Command(r.git, append([]string{"-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	cmd.Env = append(cmd.Env, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// write writes files into the work tree; names ending in .sh are executable.
func (r *gitRepo) write(files map[string]string) {
	r.t.Helper()
	for name, body := range files {
		p := filepath.Join(r.work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			r.t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			r.t.Fatal(err)
		}
	}
}

func (r *gitRepo) symlink(name, target string) {
	r.t.Helper()
	if err := os.Symlink(target, filepath.Join(r.work, name)); err != nil {
		r.t.Fatal(err)
	}
}

// submodule makes a git repository with one commit at name, which the next
// commit records as a gitlink, as it does a submodule.
func (r *gitRepo) submodule(name string) {
	r.t.Helper()
	dir := filepath.Join(r.work, name)
	r.run("", "init", "-q", dir)
	r.write(map[string]string{filepath.Join(name, "lib.txt"): "lib\n"})
	r.run(dir, "add", "-A")
	r.run(dir, "commit", "-q", "-m", "lib")
}

// commit commits everything, pushes it to the bare repo and returns its sha.
func (r *gitRepo) commit(msg string) string {
	r.t.Helper()
	r.run("", "add", "-A")
	r.run("", "commit", "-q", "-m", msg)
	r.run("", "push", "-q", r.bare, "main")
	return r.run("", "rev-parse", "HEAD")
}

// pushQuarantined commits everything and pushes it to the bare repo, whose
// pre-receive hook copies the push's quarantine object directory and rejects
// the push. It returns the commit, which exists only in the returned copy.
func (r *gitRepo) pushQuarantined(msg string) (commit, objDir string) {
	r.t.Helper()
	dest := filepath.Join(r.t.TempDir(), "quarantine")
	hookPath := filepath.Join(r.bare, "hooks", "pre-receive")
	hook := "#!/bin/sh\ncat >/dev/null\ncp -R \"$GIT_QUARANTINE_PATH\" '" + dest + "' || exit 2\necho \"$GIT_QUARANTINE_PATH\" >'" + dest + ".path'\nexit 1\n"
	if err := os.WriteFile(hookPath, []byte(hook), 0o755); err != nil {
		r.t.Fatal(err)
	}
	defer os.Remove(hookPath)
	r.run("", "add", "-A")
	r.run("", "commit", "-q", "-m", msg)
	commit = r.run("", "rev-parse", "HEAD")
	cmd := exec.Command(r.git, "push", "-q", r.bare, "main")
	cmd.Dir = r.work
	if out, err := cmd.CombinedOutput(); err == nil {
		r.t.Fatalf("push was accepted, want the hook to reject it:\n%s", out)
	}
	qpath, err := os.ReadFile(dest + ".path")
	if err != nil {
		r.t.Fatalf("the pre-receive hook did not run: %v", err)
	}
	if !strings.Contains(string(qpath), "tmp_objdir-incoming") {
		r.t.Fatalf("GIT_QUARANTINE_PATH = %q, want a quarantine dir", qpath)
	}
	if exec.Command(r.git, "-C", r.bare, "cat-file", "-e", commit).Run() == nil {
		r.t.Fatalf("commit %s reached the repository; want it only in the quarantine", commit)
	}
	return commit, dest
}
