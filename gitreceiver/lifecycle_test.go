package gitreceiver_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/gitreceiver"
)

func TestServeEndsWithItsContextAndKeepsFilesPrivate(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "h.sock")
	hostKey := filepath.Join(dir, "host", "key")
	srv, err := gitreceiver.New(gitreceiver.Config{
		HostKeyPath: hostKey, ReposDir: filepath.Join(dir, "repos"), SocketPath: sock,
		HookBinary: "/usr/bin/true", Keys: &fakeKeys{}, Apps: &fakeApps{}, Pushes: &pushes{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(hostKey)
	if err != nil || !strings.HasPrefix(string(b), "-----BEGIN OPENSSH PRIVATE KEY-----") {
		t.Errorf("host key not written as OpenSSH PEM: %v %.40q", err, b)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for path, want := range map[string]os.FileMode{hostKey: 0o600, sock: 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, mode %v; want %v", path, err, fi.Mode().Perm(), want)
		}
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v after its context ended, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("hook socket left behind: %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("still accepting SSH connections")
	}
}

func TestRemoveRepo(t *testing.T) {
	h := start(t)
	work := h.newWorkTree("doomed")
	h.git(work, "push", "wharf", "main")
	if err := gitreceiver.RemoveRepo(h.reposDir, "doomed"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(gitreceiver.RepoPath(h.reposDir, "doomed")); !os.IsNotExist(err) {
		t.Errorf("repo still there: %v", err)
	}
	if err := gitreceiver.RemoveRepo(h.reposDir, "doomed"); err != nil {
		t.Errorf("removing a missing repo: %v", err)
	}
	if err := gitreceiver.RemoveRepo(h.reposDir, "../repos"); wharf.ErrorCode(err) != wharf.EINVALID {
		t.Errorf("RemoveRepo(../repos) = %v, want EINVALID", err)
	}
	if _, err := os.Stat(h.reposDir); err != nil {
		t.Errorf("repos dir: %v", err)
	}
}
