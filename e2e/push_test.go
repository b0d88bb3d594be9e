package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/wharfhq/wharf/internal/testenv"
)

// dockerfileApp is a small web app on the locally made busybox image: it
// serves index.html on $PORT.
func dockerfileApp(body string) map[string]string {
	return map[string]string{
		"Dockerfile": "FROM " + testenv.BusyboxImage + "\nCOPY index.html /www/index.html\nCMD httpd -f -p $PORT -h /www\n",
		"index.html": body,
	}
}

// TestPushToLive is issue 2's acceptance path: push, change, failing build,
// refusals, restart with adoption, and the CLI.
func TestPushToLive(t *testing.T) {
	docker := testenv.Docker(t)
	testenv.Busybox(t)
	d := newDaemon(t)
	d.start(t)
	p := newPusher(t, d.sshAddr)
	app, empty := uniqueApp("hello"), uniqueApp("empty")
	t.Cleanup(func() { removeAppContainers(docker, app) })

	if out, err := d.cli(t, "keys:add", p.key+".pub"); err != nil {
		t.Fatalf("wharf keys:add: %v\n%s", err, out)
	}
	p.git(t, "remote", "add", "wharf", "ssh://git@"+d.sshAddr+"/"+app+".git")

	t.Run("first push deploys v1", func(t *testing.T) {
		p.commit(t, "v1", dockerfileApp("hello v1\n"))
		start := time.Now()
		out, err := p.gitErr("push", "wharf", "main")
		if err != nil {
			t.Fatalf("git push: %v\n%s", err, out)
		}
		t.Logf("push-to-live (first push, app created): %.2fs", time.Since(start).Seconds())
		for _, want := range []string{"remote: -----> Building " + app, "remote: -----> Deployed " + app + " v1 → http://" + app + ".localhost:"} {
			if !strings.Contains(out, want) {
				t.Errorf("push output lacks %q:\n%s", want, out)
			}
		}
		expectBody(t, d, app+".localhost", "hello v1\n")
		expectBody(t, d, strings.ToUpper(app)+".LocalHost:8080", "hello v1\n")
	})

	t.Run("container is named, labelled and published on loopback", func(t *testing.T) {
		cs := appContainers(t, docker, app)
		if len(cs) != 1 {
			t.Fatalf("want 1 container for hello, got %d", len(cs))
		}
		c := cs[0]
		if !strings.HasPrefix(strings.TrimPrefix(c.Names[0], "/"), "wharf-"+app+"-web-") {
			t.Errorf("container name %q", c.Names[0])
		}
		for _, port := range c.Ports {
			if port.PublicPort != 0 && port.IP != "127.0.0.1" {
				t.Errorf("published on %s, want 127.0.0.1 only", port.IP)
			}
		}
		if c.Labels["wharf.release"] != "1" || c.Labels["wharf.process"] != "web" {
			t.Errorf("labels %v", c.Labels)
		}
	})

	t.Run("second push replaces the release", func(t *testing.T) {
		p.commit(t, "v2", map[string]string{"index.html": "hello v2\n"})
		start := time.Now()
		if out, err := p.gitErr("push", "wharf", "main"); err != nil || !strings.Contains(out, "Deployed "+app+" v2") {
			t.Fatalf("git push: %v\n%s", err, out)
		}
		t.Logf("push-to-live (change, cached base): %.2fs", time.Since(start).Seconds())
		expectBody(t, d, app+".localhost", "hello v2\n")
		if cs := appContainers(t, docker, app); len(cs) != 1 || cs[0].Labels["wharf.release"] != "2" {
			t.Errorf("after v2 want exactly the v2 container, got %d containers", len(cs))
		}
	})

	t.Run("a failing build is rejected and changes nothing", func(t *testing.T) {
		before := remoteHead(t, p)
		p.commit(t, "broken", map[string]string{"Dockerfile": "FROM " + testenv.BusyboxImage + "\nRUN false\n"})
		out, err := p.gitErr("push", "wharf", "main")
		if err == nil {
			t.Fatalf("push of a failing build succeeded:\n%s", out)
		}
		if !strings.Contains(out, "[remote rejected]") || !strings.Contains(out, "build failed") {
			t.Errorf("push output should say the build failed and the push was rejected:\n%s", out)
		}
		if after := remoteHead(t, p); after != before {
			t.Errorf("server ref moved from %s to %s on a failed build", before, after)
		}
		expectBody(t, d, app+".localhost", "hello v2\n")
		p.git(t, "reset", "-q", "--hard", "HEAD~1")
	})

	t.Run("a Dockerfile whose base image cannot be pulled fails clearly", func(t *testing.T) {
		p.commit(t, "no base", map[string]string{"Dockerfile": "FROM wharf-test/does-not-exist:1\nCMD true\n"})
		out, err := p.gitErr("push", "wharf", "main")
		if err == nil || !strings.Contains(out, "[remote rejected]") || !strings.Contains(out, "wharf-test/does-not-exist") {
			t.Errorf("want a rejected push naming the missing image, got err=%v:\n%s", err, out)
		}
		expectBody(t, d, app+".localhost", "hello v2\n")
		p.git(t, "reset", "-q", "--hard", "HEAD~1")
	})

	t.Run("other branches are stored, not deployed", func(t *testing.T) {
		p.git(t, "checkout", "-q", "-b", "feature")
		p.commit(t, "feature", map[string]string{"index.html": "feature\n"})
		out, err := p.gitErr("push", "wharf", "feature")
		if err != nil || !strings.Contains(out, "Stored feature") {
			t.Errorf("push of a branch: %v\n%s", err, out)
		}
		expectBody(t, d, app+".localhost", "hello v2\n")
		p.git(t, "checkout", "-q", "main")
	})

	t.Run("unknown host is 404, app without processes is 503", func(t *testing.T) {
		if code, _, err := d.get("nope.localhost", "/"); err != nil || code != 404 {
			t.Errorf("unknown host: %d %v", code, err)
		}
		if out, err := d.cli(t, "apps:create", empty); err != nil {
			t.Fatalf("apps:create: %v\n%s", err, out)
		}
		waitStatus(t, d, empty+".localhost", 503)
	})

	t.Run("restart adopts the running container", func(t *testing.T) {
		before := appContainers(t, docker, app)[0]
		startedBefore := startedAt(t, docker, before.ID)
		d.stop(t)
		if code, _, err := d.getDirect(before); err != nil || code != 200 {
			t.Errorf("app container stopped answering while wharfd was down: %d %v", code, err)
		}
		d.start(t)
		expectBody(t, d, app+".localhost", "hello v2\n")
		after := appContainers(t, docker, app)
		if len(after) != 1 || after[0].ID != before.ID || startedAt(t, docker, after[0].ID) != startedBefore {
			t.Errorf("container was replaced or restarted across a wharfd restart")
		}
	})

	t.Run("CLI lists apps and processes", func(t *testing.T) {
		out, err := d.cli(t, "apps")
		if err != nil || !strings.Contains(out, app) || !strings.Contains(out, empty) {
			t.Errorf("wharf apps: %v\n%s", err, out)
		}
		out, err = d.cli(t, "ps", "-a", app, "--json")
		if err != nil {
			t.Fatalf("wharf ps: %v\n%s", err, out)
		}
		var procs []map[string]any
		if err := json.Unmarshal([]byte(out), &procs); err != nil || len(procs) != 1 {
			t.Errorf("wharf ps --json: %v\n%s", err, out)
		}
	})

	t.Run("apps:destroy removes containers, images and the repo", func(t *testing.T) {
		if out, err := d.cli(t, "apps:destroy", "-a", app); err == nil {
			t.Errorf("apps:destroy without --confirm succeeded:\n%s", out)
		}
		if out, err := d.cli(t, "apps:destroy", "-a", app, "--confirm", app); err != nil {
			t.Fatalf("apps:destroy: %v\n%s", err, out)
		}
		if cs := appContainers(t, docker, app); len(cs) != 0 {
			t.Errorf("%d containers left after destroy", len(cs))
		}
		waitStatus(t, d, app+".localhost", 404)
		out, _ := d.cli(t, "apps")
		if strings.Contains(out, app) {
			t.Errorf("app still listed after destroy:\n%s", out)
		}
	})
}

// TestPushToLiveFigure measures push-to-live of a small Dockerfile app next
// to `docker build` + `docker run` of the same Dockerfile by hand.
func TestPushToLiveFigure(t *testing.T) {
	docker := testenv.Docker(t)
	testenv.Busybox(t)
	testenv.Binary(t, "docker")
	d := newDaemon(t)
	d.start(t)
	p := newPusher(t, d.sshAddr)
	app := uniqueApp("timed")
	t.Cleanup(func() { removeAppContainers(docker, app) })
	if out, err := d.cli(t, "keys:add", p.key+".pub"); err != nil {
		t.Fatalf("keys:add: %v\n%s", err, out)
	}
	p.git(t, "remote", "add", "wharf", "ssh://git@"+d.sshAddr+"/"+app+".git")

	byHand := handDeploy(t, p.work, "by hand "+time.Now().String())

	p.commit(t, "timed", dockerfileApp("pushed "+time.Now().String()))
	start := time.Now()
	if out, err := p.gitErr("push", "wharf", "main"); err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	waitStatus(t, d, app+".localhost", 200)
	pushed := time.Since(start)
	t.Logf("FIGURE push-to-live %.2fs; docker build + docker run by hand %.2fs; platform overhead %.2fs",
		pushed.Seconds(), byHand.Seconds(), (pushed - byHand).Seconds())
}

// handDeploy builds and runs the app with the docker CLI and returns the
// time until it answers.
func handDeploy(t *testing.T, dir, body string) time.Duration {
	t.Helper()
	ctxDir := t.TempDir()
	for name, content := range dockerfileApp(body) {
		writeFile(t, ctxDir+"/"+name, content)
	}
	tag := "wharf-e2e/byhand:latest"
	start := time.Now()
	if out, err := exec.Command("docker", "build", "-q", "-t", tag, ctxDir).CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	out, err := exec.Command("docker", "run", "-d", "--rm", "-e", "PORT=5000", "-p", "127.0.0.1::5000", tag).Output()
	if err != nil {
		t.Fatalf("docker run: %v", err)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", id).Run(); exec.Command("docker", "rmi", tag).Run() })
	portOut, err := exec.Command("docker", "port", id, "5000/tcp").Output()
	if err != nil {
		t.Fatalf("docker port: %v", err)
	}
	addr := strings.TrimSpace(strings.Split(string(portOut), "\n")[0])
	for time.Since(start) < 60*time.Second {
		if code, _, err := getAddr(addr); err == nil && code == 200 {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("hand-run container never answered on %s", addr)
	return 0
}

func remoteHead(t *testing.T, p *pusher) string {
	t.Helper()
	out := p.git(t, "ls-remote", "wharf", "refs/heads/main")
	return strings.Fields(out + " none")[0]
}

func expectBody(t *testing.T, d *daemon, host, want string) {
	t.Helper()
	code, body, err := d.get(host, "/")
	if err != nil || code != 200 || body != want {
		t.Errorf("GET %s: %d %q %v; want 200 %q", host, code, body, err, want)
	}
}

func waitStatus(t *testing.T, d *daemon, host string, want int) {
	t.Helper()
	var code int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		code, _, _ = d.get(host, "/")
		if code == want {
			return
		}
	}
	t.Errorf("GET %s: status %d, want %d", host, code, want)
}

func appContainers(t *testing.T, docker interface {
	ContainerList(context.Context, container.ListOptions) ([]container.Summary, error)
}, app string) []container.Summary {
	t.Helper()
	cs, err := docker.ContainerList(context.Background(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", "wharf.app="+app))})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
