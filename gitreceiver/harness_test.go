package gitreceiver_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/gitreceiver"
	"github.com/wharfhq/wharf/internal/testenv"
)

// The test binary is also the hook: the generated hook script runs a wrapper
// that sets this variable and execs the test binary.
const hookEnv = "WHARF_GITRECEIVER_TEST_HOOK"

func TestMain(m *testing.M) {
	if os.Getenv(hookEnv) == "1" {
		os.Exit(gitreceiver.RunHook(context.Background(), os.Stdin, os.Stdout, os.Environ()))
	}
	os.Exit(m.Run())
}

// fakeKeys and fakeApps stand in for the store, which is being written now.
type fakeKeys struct {
	mu   sync.Mutex
	keys map[string]wharf.Key
}

func (f *fakeKeys) KeyByFingerprint(_ context.Context, fp string) (wharf.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[fp]
	if !ok {
		return wharf.Key{}, wharf.Errorf(wharf.ENOTFOUND, "no key %s", fp)
	}
	return k, nil
}

type fakeApps struct {
	mu   sync.Mutex
	apps map[string]wharf.App
}

func (f *fakeApps) EnsureApp(_ context.Context, name string) (wharf.App, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := f.apps[name]; ok {
		return a, false, nil
	}
	a := wharf.App{ID: int64(len(f.apps) + 1), Name: name, CreatedAt: time.Now()}
	f.apps[name] = a
	return a, true, nil
}

func (f *fakeApps) has(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.apps[name]
	return ok
}

type handleFunc func(ctx context.Context, p gitreceiver.Push, out io.Writer) error

// pushes records every push and runs the test's handler.
type pushes struct {
	mu     sync.Mutex
	got    []gitreceiver.Push
	handle handleFunc
}

func (r *pushes) HandlePush(ctx context.Context, p gitreceiver.Push, out io.Writer) error {
	r.mu.Lock()
	r.got = append(r.got, p)
	h := r.handle
	r.mu.Unlock()
	if h == nil {
		return nil
	}
	return h(ctx, p, out)
}

func (r *pushes) set(h handleFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handle = h
}

func (r *pushes) all() []gitreceiver.Push {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]gitreceiver.Push(nil), r.got...)
}

// harness is a running server on 127.0.0.1 with one allowed key (alice's).
type harness struct {
	t        *testing.T
	srv      *gitreceiver.Server
	addr     string
	port     string
	reposDir string
	hookBin  string
	home     string // the client's HOME
	key      string // alice's private key
	apps     *fakeApps
	pushes   *pushes
	log      *testenv.SyncBuffer
	served   chan error
}

func start(t *testing.T) *harness {
	t.Helper()
	testenv.Binary(t, "git")
	testenv.Binary(t, "ssh")
	testenv.Binary(t, "ssh-keygen")
	dir := t.TempDir()
	sockDir, err := os.MkdirTemp("", "wgr") // short: socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	h := &harness{
		t: t, reposDir: filepath.Join(dir, "repos"), home: filepath.Join(dir, "home"),
		apps: &fakeApps{apps: map[string]wharf.App{}}, pushes: &pushes{}, log: &testenv.SyncBuffer{},
		served: make(chan error, 1),
	}
	if err := os.MkdirAll(h.home, 0o700); err != nil {
		t.Fatal(err)
	}
	keys := &fakeKeys{keys: map[string]wharf.Key{}}
	var fp string
	h.key, fp = newClientKey(t, dir, "alice")
	keys.keys[fp] = wharf.Key{ID: 1, Name: "laptop", Owner: "alice", Fingerprint: fp}
	h.hookBin = writeHookWrapper(t, dir)
	h.srv, err = gitreceiver.New(gitreceiver.Config{
		HostKeyPath: filepath.Join(dir, "host", "ssh_host_ed25519_key"),
		ReposDir:    h.reposDir,
		SocketPath:  filepath.Join(sockDir, "hook.sock"),
		HookBinary:  h.hookBin,
		Keys:        keys,
		Apps:        h.apps,
		Pushes:      h.pushes,
		Logger:      slog.New(slog.NewTextHandler(h.log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	_, h.port, _ = net.SplitHostPort(h.addr)
	go func() { h.served <- h.srv.Serve(context.Background(), ln) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		h.t.Errorf("Shutdown: %v", err)
	}
	select {
	case err := <-h.served:
		if err != nil {
			h.t.Errorf("Serve: %v", err)
		}
	case <-ctx.Done():
		h.t.Error("Serve did not return after Shutdown")
	}
}

// newClientKey makes an ed25519 key pair with ssh-keygen and returns the
// private key's path and the public key's fingerprint.
func newClientKey(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	path := filepath.Join(dir, "id_"+name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pk, _, _, _, err := gossh.ParseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return path, gossh.FingerprintSHA256(pk)
}

// writeHookWrapper writes the script the hook execs: the test binary, told
// to act as the hook.
func writeHookWrapper(t *testing.T, dir string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "wharf-hook")
	script := fmt.Sprintf("#!/bin/sh\n%s=1 exec '%s' \"$@\"\n", hookEnv, exe)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func (h *harness) sshArgs(key string) []string {
	return []string{"-i", key, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-p", h.port}
}

func (h *harness) remote(app string) string { return "git@127.0.0.1:" + app }

// gitCmd is a git command run as the client, through ssh with key.
func (h *harness) gitCmd(dir, key string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + h.home, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Alice", "GIT_AUTHOR_EMAIL=alice@example.com",
		"GIT_COMMITTER_NAME=Alice", "GIT_COMMITTER_EMAIL=alice@example.com",
		"GIT_SSH_COMMAND=ssh " + strings.Join(h.sshArgs(key), " "),
	}
	return cmd
}

// git runs a git command as alice and returns its stderr; it fails the
// test on error.
func (h *harness) git(dir string, args ...string) string {
	h.t.Helper()
	out, err := h.tryGit(dir, h.key, args...)
	if err != nil {
		h.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// tryGit runs git and returns its combined output and error.
func (h *harness) tryGit(dir, key string, args ...string) (string, error) {
	out, err := h.gitCmd(dir, key, args...).CombinedOutput()
	return string(out), err
}

// newWorkTree makes a local repo on main with one commit and a remote
// "wharf" for app; it returns the directory.
func (h *harness) newWorkTree(app string) string {
	h.t.Helper()
	dir := filepath.Join(h.t.TempDir(), app)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.t.Fatal(err)
	}
	h.git(dir, "init", "-q", "--initial-branch=main")
	h.git(dir, "remote", "add", "wharf", h.remote(app))
	h.commit(dir, "hello "+app)
	return dir
}

// commit writes content to README and commits it; it returns the commit.
func (h *harness) commit(dir, content string) string {
	h.t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte(content+"\n"), 0o644); err != nil {
		h.t.Fatal(err)
	}
	h.git(dir, "add", "README")
	h.git(dir, "commit", "-q", "-m", content)
	return strings.TrimSpace(h.git(dir, "rev-parse", "HEAD"))
}

// serverRef returns the commit ref points at in app's bare repo on the
// server, or "" when it does not exist.
func (h *harness) serverRef(app, ref string) string {
	h.t.Helper()
	out, err := exec.Command("git", "--git-dir", gitreceiver.RepoPath(h.reposDir, app), "rev-parse", "--verify", "-q", ref).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// ssh runs the ssh client with a raw command and returns its exit code and
// stderr.
func (h *harness) ssh(key, command string) (int, string) {
	h.t.Helper()
	args := append(h.sshArgs(key), "-T", "git@127.0.0.1", command)
	cmd := exec.Command("ssh", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		h.t.Fatalf("ssh: %v", err)
	}
	return code, stderr.String()
}
