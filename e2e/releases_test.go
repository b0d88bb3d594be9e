package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/wharfhq/wharf/internal/testenv"
)

// procfileApp is the busybox httpd app with a Procfile: web serves
// index.html on $PORT, worker loops.
func procfileApp(body string) map[string]string {
	files := dockerfileApp(body)
	files["Procfile"] = "# web and a worker\nweb: httpd -f -p $PORT -h /www\nworker: sh -c 'while true; do sleep 1; done'\n"
	return files
}

// releaseEnv is a started daemon, a pusher with its key added and a remote
// for a fresh app.
type releaseEnv struct {
	d      *daemon
	p      *pusher
	app    string
	docker *client.Client
}

func newReleaseEnv(t *testing.T, prefix string) *releaseEnv {
	t.Helper()
	docker := testenv.Docker(t)
	testenv.Busybox(t)
	d := newDaemon(t)
	d.start(t)
	p := newPusher(t, d.sshAddr)
	app := uniqueApp(prefix)
	t.Cleanup(func() { removeAppContainers(docker, app); removeAppImages(docker, app) })
	if out, err := d.cli(t, "keys:add", p.key+".pub"); err != nil {
		t.Fatalf("keys:add: %v\n%s", err, out)
	}
	p.git(t, "remote", "add", "wharf", "ssh://git@"+d.sshAddr+"/"+app+".git")
	return &releaseEnv{d: d, p: p, app: app, docker: docker}
}

// removeAppImages deletes the images a test's app left behind.
func removeAppImages(docker *client.Client, app string) {
	ctx := context.Background()
	imgs, _ := docker.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", "wharf/"+app))})
	for _, im := range imgs {
		docker.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true})
	}
}

func (e *releaseEnv) host() string { return e.app + ".localhost" }

// push commits files and pushes, failing the test when the push fails.
func (e *releaseEnv) push(t *testing.T, msg string, files map[string]string) time.Duration {
	t.Helper()
	d, _ := e.pushOut(t, msg, files)
	return d
}

// pushOut is push that also returns git's output.
func (e *releaseEnv) pushOut(t *testing.T, msg string, files map[string]string) (time.Duration, string) {
	t.Helper()
	e.p.commit(t, msg, files)
	start := time.Now()
	out, err := e.p.gitErr("push", "wharf", "main")
	if err != nil {
		t.Fatalf("git push (%s): %v\n%s", msg, err, out)
	}
	return time.Since(start), out
}

// healthyAfter is the "web.1 healthy after 0.4s" figures of a push's output.
var healthyAfter = regexp.MustCompile(`web\.\d+ healthy after [0-9.]+s`)

// wharf runs the CLI and fails the test when it fails.
func (e *releaseEnv) wharf(t *testing.T, args ...string) string {
	t.Helper()
	out, err := e.d.cli(t, args...)
	if err != nil {
		t.Fatalf("wharf %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// wharfFails runs the CLI and returns its output, failing the test when it
// succeeds.
func (e *releaseEnv) wharfFails(t *testing.T, args ...string) string {
	t.Helper()
	out, err := e.d.cli(t, args...)
	if err == nil {
		t.Fatalf("wharf %s succeeded, want an error:\n%s", strings.Join(args, " "), out)
	}
	if n := strings.Count(strings.TrimSpace(out), "\n"); n != 0 {
		t.Errorf("wharf %s: error is not one line:\n%s", strings.Join(args, " "), out)
	}
	return out
}

// running returns the app's running containers of process type typ ("" for all).
func (e *releaseEnv) running(t *testing.T, typ string) []container.Summary {
	t.Helper()
	var out []container.Summary
	for _, c := range appContainers(t, e.docker, e.app) {
		if c.State == "running" && (typ == "" || c.Labels["wharf.process"] == typ) {
			out = append(out, c)
		}
	}
	return out
}

// load is a steady-rate HTTP load generator against the router on
// loopback: clients each send one request per interval, half of them with
// keep-alive, until stop or the bounds.
type load struct {
	requests, failed atomic.Int64
	mu               sync.Mutex
	samples          []string
	stop             chan struct{}
	wg               sync.WaitGroup
}

func startLoad(addr, host string, clients int, interval, maxTime time.Duration, maxRequests int64) *load {
	l := &load{stop: make(chan struct{})}
	deadline := time.Now().Add(maxTime)
	for i := range clients {
		tr := &http.Transport{Proxy: nil, DisableKeepAlives: i%2 == 1, MaxIdleConnsPerHost: 1}
		c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer tr.CloseIdleConnections()
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for time.Now().Before(deadline) && l.requests.Load() < maxRequests {
				select {
				case <-l.stop:
					return
				case <-tick.C:
				}
				l.one(c, addr, host)
			}
		}()
	}
	return l
}

func (l *load) one(c *http.Client, addr, host string) {
	l.requests.Add(1)
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Host = host
	resp, err := c.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("status %s", resp.Status)
		}
	}
	if err != nil {
		l.failed.Add(1)
		l.mu.Lock()
		if len(l.samples) < 10 {
			l.samples = append(l.samples, time.Now().Format("15:04:05.000")+" "+err.Error())
		}
		l.mu.Unlock()
	}
}

func (l *load) finish() (requests, failed int64, samples []string) {
	close(l.stop)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.requests.Load(), l.failed.Load(), l.samples
}

// TestReleasesZeroDowntime is issue 3's load test: steady traffic through
// the router while the app is pushed 5 times, scaled, reconfigured,
// scaled back, rolled back and restarted. Not one request may fail.
func TestReleasesZeroDowntime(t *testing.T) {
	e := newReleaseEnv(t, "load")
	first := e.push(t, "v0", procfileApp("v0\n"))
	waitStatus(t, e.d, e.host(), 200)
	l := startLoad(e.d.httpAddr, e.host(), 4, 40*time.Millisecond, 8*time.Minute, 100000)
	var pushes, health []string
	for i := 1; i <= 5; i++ {
		d, out := e.pushOut(t, fmt.Sprintf("v%d", i), map[string]string{"index.html": fmt.Sprintf("v%d\n", i)})
		pushes = append(pushes, fmt.Sprintf("%.1fs", d.Seconds()))
		health = append(health, healthyAfter.FindAllString(out, -1)...)
	}
	timed := func(args ...string) string {
		start := time.Now()
		e.wharf(t, args...)
		return fmt.Sprintf("%s %.1fs", strings.Join(args[:1], ""), time.Since(start).Seconds())
	}
	steps := []string{
		timed("ps:scale", "-a", e.app, "web=3"),
		timed("config:set", "-a", e.app, "GREETING=hello"),
		timed("ps:scale", "-a", e.app, "web=1"),
		timed("rollback", "-a", e.app),
		timed("ps:restart", "-a", e.app),
	}
	time.Sleep(time.Second)
	n, failed, samples := l.finish()
	t.Logf("FIGURE load: %d requests, %d failed", n, failed)
	t.Logf("FIGURE health-checked swap: %s", strings.Join(health, "; "))
	t.Logf("FIGURE timings: first push %.1fs; pushes %s; %s", first.Seconds(), strings.Join(pushes, " "), strings.Join(steps, "; "))
	if failed > 0 || n == 0 {
		t.Errorf("%d of %d requests failed during deploys; first failures:\n%s", failed, n, strings.Join(samples, "\n"))
	}
	out := e.wharf(t, "releases", "-a", e.app)
	for _, want := range []string{"Set GREETING", "Rollback to v6", "Deploy "} {
		if !strings.Contains(out, want) {
			t.Errorf("releases lack %q:\n%s", want, out)
		}
	}
	if got := len(e.running(t, "web")); got != 1 {
		t.Errorf("after scale web=1 and restart: %d web containers running, want 1", got)
	}
}

// TestReleasesUnhealthy: a release whose web never answers is rejected;
// the old release keeps serving and the new containers are gone.
func TestReleasesUnhealthy(t *testing.T) {
	e := newReleaseEnv(t, "sick")
	e.push(t, "good", procfileApp("good\n"))
	expectBody(t, e.d, e.host(), "good\n")
	e.p.commit(t, "sick", map[string]string{
		"Procfile": "web: sh -c 'echo booting but never listening; sleep 3600'\n",
		"app.json": `{"healthchecks": {"web": [{"type":"startup","name":"web check","path":"/health","timeout": 5, "attempts": 3}]}}`,
	})
	start := time.Now()
	out, err := e.p.gitErr("push", "wharf", "main")
	took := time.Since(start)
	if err == nil || !strings.Contains(out, "[remote rejected]") {
		t.Fatalf("push of an app that never gets healthy was accepted:\n%s", out)
	}
	if !strings.Contains(out, "booting but never listening") {
		t.Errorf("rejection does not quote the container's last log lines:\n%s", out)
	}
	t.Logf("FIGURE unhealthy push rejected after %.1fs (health timeout 5s)", took.Seconds())
	expectBody(t, e.d, e.host(), "good\n")
	for _, c := range appContainers(t, e.docker, e.app) {
		if c.Labels["wharf.release"] != "1" {
			t.Errorf("container %s of the failed release v%s is left", c.Names[0], c.Labels["wharf.release"])
		}
	}
	if rel := e.wharf(t, "releases", "-a", e.app); !strings.Contains(rel, "failed") {
		t.Errorf("releases do not show v2 failed:\n%s", rel)
	}
}

// TestReleasesSelfHealing: a killed or removed web container is replaced
// and the app serves again within 10 s.
func TestReleasesSelfHealing(t *testing.T) {
	testenv.Binary(t, "docker")
	e := newReleaseEnv(t, "heal")
	e.push(t, "v1", procfileApp("v1\n"))
	expectBody(t, e.d, e.host(), "v1\n")
	for _, how := range [][]string{{"kill"}, {"rm", "-f"}} {
		web := e.running(t, "web")
		if len(web) != 1 {
			t.Fatalf("want 1 web container, got %d", len(web))
		}
		if out, err := exec.Command("docker", append(how, web[0].ID)...).CombinedOutput(); err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(how, " "), err, out)
		}
		took, ok := waitServing(e, 20*time.Second)
		if !ok || took > 10*time.Second {
			t.Errorf("after docker %s: serving again after %.1fs (ok=%v), want within 10s", strings.Join(how, " "), took.Seconds(), ok)
		}
		t.Logf("FIGURE docker %s of the web container: serving again after %.2fs", strings.Join(how, " "), took.Seconds())
	}
	out, err := e.d.cli(t, "activity", "-a", e.app)
	if err != nil || !strings.Contains(out, "web.1 of v1 exited with code 137") {
		t.Errorf("the kill should be in the activity feed as a crash: %v\n%s", err, out)
	}
}

// waitServing polls the app through the router until it answers 200.
func waitServing(e *releaseEnv, limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	time.Sleep(50 * time.Millisecond) // let the kill land
	for time.Since(start) < limit {
		if code, _, err := e.d.get(e.host(), "/"); err == nil && code == 200 {
			return time.Since(start), true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start), false
}

// TestReleasesCrashMidDeploy: kill -9 of wharfd while the release phase
// runs; after a restart exactly one release serves and nothing is left.
func TestReleasesCrashMidDeploy(t *testing.T) {
	e := newReleaseEnv(t, "crash")
	e.push(t, "v1", procfileApp("v1\n"))
	expectBody(t, e.d, e.host(), "v1\n")
	e.p.commit(t, "slow release", map[string]string{"index.html": "v2\n",
		"Procfile": "web: httpd -f -p $PORT -h /www\nrelease: sleep 60\n"})
	pushDone := make(chan string, 1)
	go func() { out, _ := e.p.gitErr("push", "wharf", "main"); pushDone <- out }()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) && !e.hasRelease(t, "2") {
		time.Sleep(100 * time.Millisecond)
	}
	if !e.hasRelease(t, "2") {
		t.Fatalf("no container of v2 appeared (release phase)")
	}
	time.Sleep(time.Second)
	if err := e.d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-e.d.done
	<-pushDone
	e.d.start(t)
	// The app serves v1 and only v1's containers remain.
	var releases map[string]int
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		releases = map[string]int{}
		for _, c := range appContainers(t, e.docker, e.app) {
			releases[c.Labels["wharf.release"]+"/"+c.State]++
		}
		if len(releases) == 1 && releases["1/running"] == 1 {
			break
		}
	}
	if len(releases) != 1 || releases["1/running"] != 1 {
		t.Errorf("after kill -9 mid-deploy and a restart, containers by release/state = %v; want one running v1", releases)
	}
	expectBody(t, e.d, e.host(), "v1\n")
	if out := e.wharf(t, "releases", "-a", e.app); !strings.Contains(out, "failed") {
		t.Errorf("the interrupted release is not marked failed:\n%s", out)
	}
}

func (e *releaseEnv) hasRelease(t *testing.T, v string) bool {
	for _, c := range appContainers(t, e.docker, e.app) {
		if c.Labels["wharf.release"] == v {
			return true
		}
	}
	return false
}

// TestReleasesImageGC: 20 deploys of one app leave at most keep+1 of its
// images on disk.
func TestReleasesImageGC(t *testing.T) {
	e := newReleaseEnv(t, "gc")
	const keep = 5
	start := time.Now()
	for i := 1; i <= 20; i++ {
		e.push(t, fmt.Sprintf("v%d", i), dockerfileApp(fmt.Sprintf("v%d\n", i)))
	}
	expectBody(t, e.d, e.host(), "v20\n")
	imgs, err := e.docker.ImageList(context.Background(), image.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", "wharf.app="+e.app))})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("FIGURE image GC: %d images of the app after 20 deploys (keep %d) in %.0fs", len(imgs), keep, time.Since(start).Seconds())
	if len(imgs) > keep+1 {
		var tags []string
		for _, im := range imgs {
			tags = append(tags, strings.Join(im.RepoTags, ","))
		}
		t.Errorf("%d images of %s on disk after 20 deploys, want at most %d: %v", len(imgs), e.app, keep+1, tags)
	}
	t.Cleanup(func() {
		for _, im := range imgs {
			e.docker.ImageRemove(context.Background(), im.ID, image.RemoveOptions{Force: true})
		}
	})
}

// TestReleasesErrors: Procfile errors, config, rollback and scaling
// mistakes are clear one-line errors that change nothing.
func TestReleasesErrors(t *testing.T) {
	e := newReleaseEnv(t, "errs")
	e.wharf(t, "apps:create", e.app)
	out := e.wharfFails(t, "ps:scale", "-a", e.app, "web=2")
	if !strings.Contains(out, "has no release yet") {
		t.Errorf("scale before a release: %s", out)
	}
	e.wharf(t, "config:set", "-a", e.app, "EARLY=1")
	e.push(t, "v1", procfileApp("v1\n"))
	expectBody(t, e.d, e.host(), "v1\n")
	if cfg := e.wharf(t, "config:get", "-a", e.app, "EARLY"); cfg != "1\n" {
		t.Errorf("config set before the first deploy: %q", cfg)
	}

	t.Run("broken Procfile", func(t *testing.T) {
		e.p.commit(t, "bad procfile", map[string]string{"Procfile": "web: httpd -f -p $PORT -h /www\n\nweb: again\n"})
		out, err := e.p.gitErr("push", "wharf", "main")
		if err == nil || !strings.Contains(out, `Procfile line 3: process type "web" is defined twice`) {
			t.Errorf("push with a duplicate Procfile type: %v\n%s", err, out)
		}
		e.p.commit(t, "bad procfile 2", map[string]string{"Procfile": "# hi\nWeb server: x\n"})
		out, err = e.p.gitErr("push", "wharf", "main")
		if err == nil || !strings.Contains(out, `Procfile line 2: invalid process type "Web server"`) {
			t.Errorf("push with a bad Procfile type: %v\n%s", err, out)
		}
		e.p.git(t, "reset", "-q", "--hard", "HEAD~2")
		expectBody(t, e.d, e.host(), "v1\n")
	})

	t.Run("config", func(t *testing.T) {
		for args, want := range map[string]string{
			"1BAD=x":                      `invalid config var name "1BAD": names must match ^[A-Za-z_][A-Za-z0-9_]*$`,
			"PORT=80":                     "PORT is reserved",
			"WHARF_HEALTHCHECK_TIMEOUT=x": "WHARF_HEALTHCHECK_TIMEOUT must be a positive whole number",
		} {
			if out := e.wharfFails(t, "config:set", "-a", e.app, "OK=1", args); !strings.Contains(out, want) {
				t.Errorf("config:set %s: %s; want %q", args, out, want)
			}
		}
		if out := e.wharfFails(t, "config:unset", "-a", e.app, "NOPE"); !strings.Contains(out, "has no config var NOPE") {
			t.Errorf("config:unset of a missing key: %s", out)
		}
		var cfg map[string]string
		if err := json.Unmarshal([]byte(e.wharf(t, "config", "-a", e.app, "--json")), &cfg); err != nil || len(cfg) != 1 {
			t.Errorf("config after refused changes = %v, %v; want only EARLY", cfg, err)
		}
		if out := e.wharf(t, "config", "-a", e.app); strings.Contains(out, "EARLY  1") {
			t.Errorf("config shows values unmasked:\n%s", out)
		}
	})

	t.Run("scale and rollback", func(t *testing.T) {
		out := e.wharfFails(t, "ps:scale", "-a", e.app, "clock=1")
		if !strings.Contains(out, `unknown process type "clock"`) || !strings.Contains(out, "web, worker") {
			t.Errorf("scale of an unknown type: %s", out)
		}
		if out := e.wharfFails(t, "rollback", "-a", e.app); !strings.Contains(out, "no release before v1") {
			t.Errorf("rollback with one release: %s", out)
		}
		if out := e.wharfFails(t, "rollback", "-a", e.app, "v99"); !strings.Contains(out, "release v99") {
			t.Errorf("rollback to a missing release: %s", out)
		}
		if out := e.wharfFails(t, "ps:restart", "-a", e.app, "clock"); !strings.Contains(out, `unknown process type "clock"`) {
			t.Errorf("restart of an unknown type: %s", out)
		}
		if out := e.wharfFails(t, "resources:set", "-a", e.app, "web", "--memory", "1k"); !strings.Contains(out, `invalid memory "1k"`) {
			t.Errorf("resources:set 1k: %s", out)
		}
		rels := e.wharf(t, "releases", "-a", e.app, "--json")
		var list []map[string]any
		if err := json.Unmarshal([]byte(rels), &list); err != nil || len(list) != 1 {
			t.Errorf("refused commands made releases: %v\n%s", err, rels)
		}
	})

	t.Run("worker scale makes a release, config:set another, rollback a third", func(t *testing.T) {
		e.wharf(t, "ps:scale", "-a", e.app, "worker=1")
		if got := len(e.running(t, "worker")); got != 1 {
			t.Errorf("worker containers after scale worker=1: %d", got)
		}
		e.wharf(t, "config:set", "-a", e.app, "GREETING=hi")
		out := e.wharf(t, "rollback", "-a", e.app)
		if !strings.Contains(out, "Rollback to v2") {
			t.Errorf("rollback output: %s", out)
		}
		if _, err := e.d.cli(t, "config:get", "-a", e.app, "GREETING"); err == nil {
			t.Errorf("rollback to v2 kept GREETING, set in v3")
		}
		rels := e.wharf(t, "releases", "-a", e.app)
		for _, want := range []string{"Scale worker=1", "Set GREETING", "Rollback to v2"} {
			if !strings.Contains(rels, want) {
				t.Errorf("releases lack %q:\n%s", want, rels)
			}
		}
		ps := e.wharf(t, "ps", "-a", e.app)
		if !strings.Contains(ps, "worker.1") || !strings.Contains(ps, "RESTARTS") {
			t.Errorf("ps:\n%s", ps)
		}
	})
}

// TestReleasesStorage: a named volume survives deploys and rollbacks, and
// apps:destroy keeps it unless told.
func TestReleasesStorage(t *testing.T) {
	e := newReleaseEnv(t, "vol")
	vol := "wharf-" + e.app + "-data"
	t.Cleanup(func() { e.docker.VolumeRemove(context.Background(), vol, true) })
	e.wharf(t, "apps:create", e.app)
	if out := e.wharf(t, "storage:mount", "-a", e.app, "data:/www/data"); !strings.Contains(out, "from the next deploy") {
		t.Errorf("storage:mount: %s", out)
	}
	files := procfileApp("v1\n")
	files["Procfile"] += "release: sh -c 'test -f /www/data/x.txt || echo persisted > /www/data/x.txt'\n"
	e.push(t, "v1", files)
	expectPath(t, e, "/data/x.txt", "persisted\n")
	e.push(t, "v2", map[string]string{"index.html": "v2\n", "Procfile": "web: httpd -f -p $PORT -h /www\n"})
	expectPath(t, e, "/data/x.txt", "persisted\n")
	e.wharf(t, "rollback", "-a", e.app)
	expectPath(t, e, "/data/x.txt", "persisted\n")
	if out := e.wharf(t, "storage", "-a", e.app); !strings.Contains(out, "/www/data") {
		t.Errorf("storage: %s", out)
	}
	out := e.wharf(t, "apps:destroy", "-a", e.app, "--confirm", e.app)
	if !strings.Contains(out, "Kept volumes data") {
		t.Errorf("apps:destroy does not say the volume was kept:\n%s", out)
	}
	if _, err := e.docker.VolumeInspect(context.Background(), vol); err != nil {
		t.Errorf("volume %s gone after apps:destroy without --volumes: %v", vol, err)
	}

	// With --volumes the data goes too.
	other := uniqueApp("vol")
	otherVol := "wharf-" + other + "-data"
	t.Cleanup(func() {
		removeAppContainers(e.docker, other)
		e.docker.VolumeRemove(context.Background(), otherVol, true)
	})
	e.wharf(t, "apps:create", other)
	e.wharf(t, "storage:mount", "-a", other, "data:/www/data")
	e.p.git(t, "remote", "add", "other", "ssh://git@"+e.d.sshAddr+"/"+other+".git")
	if out, err := e.p.gitErr("push", "other", "main"); err != nil {
		t.Fatalf("push to %s: %v\n%s", other, err, out)
	}
	if _, err := e.docker.VolumeInspect(context.Background(), otherVol); err != nil {
		t.Fatalf("volume %s was not created by the deploy: %v", otherVol, err)
	}
	out = e.wharf(t, "apps:destroy", "-a", other, "--confirm", other, "--volumes")
	if !strings.Contains(out, "Deleted volumes data and their data.") {
		t.Errorf("apps:destroy --volumes:\n%s", out)
	}
	if _, err := e.docker.VolumeInspect(context.Background(), otherVol); err == nil {
		t.Errorf("volume %s left after apps:destroy --volumes", otherVol)
	}
}

func expectPath(t *testing.T, e *releaseEnv, path, want string) {
	t.Helper()
	code, body, err := e.d.get(e.host(), path)
	if err != nil || code != 200 || body != want {
		t.Errorf("GET %s%s: %d %q %v; want 200 %q", e.host(), path, code, body, err, want)
	}
}
