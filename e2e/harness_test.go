// Package e2e drives the real wharfd and wharf binaries with the real git and
// ssh clients, the Docker Engine and Postgres: push → build → container →
// HTTP through the router.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wharf-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var buildOnce sync.Once
var buildErr error

// binaries builds bin/wharfd and bin/wharf once per test run.
func binaries(t *testing.T) (wharfd, wharf string) {
	t.Helper()
	buildOnce.Do(func() {
		for _, name := range []string{"wharfd", "wharf"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, name), "../cmd/"+name)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", name, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "wharfd"), filepath.Join(binDir, "wharf")
}

// daemon is one wharfd process on loopback ports.
type daemon struct {
	bin, dataDir                          string
	sshAddr, httpAddr, httpsAddr, apiAddr string
	args                                  []string // more flags for wharfd serve, e.g. --database-url
	env                                   []string // more environment, e.g. DOCKER_HOST
	cmd                                   *exec.Cmd
	log                                   *testenv.SyncBuffer
	done                                  chan struct{}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newDaemon(t *testing.T) *daemon {
	wharfd, _ := binaries(t)
	d := &daemon{bin: wharfd, dataDir: filepath.Join(t.TempDir(), "data"),
		sshAddr: freeAddr(t), httpAddr: freeAddr(t), httpsAddr: freeAddr(t), apiAddr: freeAddr(t)}
	t.Cleanup(func() {
		apps := d.appNames(t)
		d.stop(t)
		if t.Failed() {
			t.Logf("wharfd log:\n%s", d.log)
		}
		removeApps(apps)
	})
	return d
}

// appNames lists the running daemon's apps, so a test's cleanup can remove
// what they left on the Docker Engine; nil when the daemon is not running.
func (d *daemon) appNames(t *testing.T) []string {
	if d.cmd == nil || d.done == nil {
		return nil
	}
	select {
	case <-d.done:
		return nil
	default:
	}
	out, err := d.cli(t, "apps", "--json")
	if err != nil {
		return nil
	}
	var apps []struct{ Name string }
	if json.Unmarshal([]byte(out), &apps) != nil {
		return nil
	}
	names := make([]string, 0, len(apps))
	for _, a := range apps {
		names = append(names, a.Name)
	}
	return names
}

func (d *daemon) start(t *testing.T) {
	t.Helper()
	d.log = &testenv.SyncBuffer{}
	d.cmd = exec.Command(d.bin, "serve", "--data", d.dataDir, "--ssh-addr", d.sshAddr,
		"--http-addr", d.httpAddr, "--https-addr", d.httpsAddr, "--api-addr", d.apiAddr, "--domain", "localhost")
	d.cmd.Args = append(d.cmd.Args, d.args...)
	if len(d.env) > 0 {
		d.cmd.Env = append(os.Environ(), d.env...)
	}
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("starting wharfd: %v", err)
	}
	d.done = make(chan struct{})
	go func() { d.cmd.Wait(); close(d.done) }()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			t.Fatalf("wharfd exited during start:\n%s", d.log)
		default:
		}
		resp, err := http.Get("http://" + d.apiAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("wharfd not healthy after 90s:\n%s", d.log)
}

// stop sends SIGTERM and waits for a graceful exit.
func (d *daemon) stop(t *testing.T) {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	select {
	case <-d.done:
		return
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(90 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
		t.Errorf("wharfd did not stop within 90s of SIGTERM")
	}
}

func (d *daemon) token(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.dataDir, "admin-token"))
	if err != nil {
		t.Fatalf("reading admin-token: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// cli runs the wharf CLI against this daemon.
func (d *daemon) cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	_, wharf := binaries(t)
	cmd := exec.Command(wharf, args...)
	cmd.Env = append(os.Environ(), "WHARF_API=http://"+d.apiAddr, "WHARF_TOKEN="+d.token(t))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// get sends a request for host through the router.
func (d *daemon) get(host, path string) (int, string, error) {
	req, err := http.NewRequest("GET", "http://"+d.httpAddr+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// pusher is a developer's machine: an SSH key and a git work tree.
type pusher struct {
	home, work, key string
	env             []string
}

func newPusher(t *testing.T, sshAddr string) *pusher {
	t.Helper()
	testenv.Binary(t, "git")
	testenv.Binary(t, "ssh")
	testenv.Binary(t, "ssh-keygen")
	home := t.TempDir()
	p := &pusher{home: home, work: filepath.Join(home, "app"), key: filepath.Join(home, "id_ed25519")}
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dev@laptop", "-f", p.key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	_, port, _ := net.SplitHostPort(sshAddr)
	p.env = append(os.Environ(), "HOME="+home,
		"GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com",
		"GIT_SSH_COMMAND=ssh -i "+p.key+" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -p "+port)
	p.git(t, "init", "-q", "-b", "main", p.work)
	return p
}

func (p *pusher) git(t *testing.T, args ...string) string {
	t.Helper()
	out, err := p.gitErr(args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (p *pusher) gitErr(args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = p.home
	if _, err := os.Stat(p.work); err == nil {
		cmd.Dir = p.work
	}
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// commit writes files into the work tree and commits them.
func (p *pusher) commit(t *testing.T, msg string, files map[string]string) string {
	t.Helper()
	for name, body := range files {
		path := filepath.Join(p.work, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.git(t, "add", "-A")
	p.git(t, "commit", "-q", "-m", msg)
	return strings.TrimSpace(p.git(t, "rev-parse", "HEAD"))
}

// ssh runs a raw command on the git server, returning combined output and exit code.
func (p *pusher) ssh(t *testing.T, sshAddr, key string, command string) (string, int) {
	t.Helper()
	host, port, _ := net.SplitHostPort(sshAddr)
	args := []string{"-i", key, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-p", port, "git@" + host}
	if command != "" {
		args = append(args, command)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", args...)
	cmd.Env = p.env
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("ssh: %v", err)
	}
	return string(out), code
}
