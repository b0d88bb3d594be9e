package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/internal/testenv"
)

var (
	stackOnce sync.Once
	stackErr  error
)

// buildStack runs `wharfd stack build` once per test run (the first time on
// a machine it debootstraps bookworm and installs the stacks' packages) and
// reports how long the first and a cached run took.
func buildStack(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("debootstrap"); err != nil {
		testenv.Missing(t, "debootstrap is not installed (scripts/install-deps.sh installs it)")
	}
	wharfd, _ := binaries(t)
	stackOnce.Do(func() {
		for _, run := range []string{"first", "cached"} {
			start := time.Now()
			out, err := exec.Command(wharfd, "stack", "build").CombinedOutput()
			if err != nil {
				stackErr = err
				t.Logf("wharfd stack build: %v\n%s", err, out)
				return
			}
			t.Logf("FIGURE wharfd stack build (%s run in this test process): %s", run, time.Since(start).Round(time.Millisecond))
		}
	})
	if stackErr != nil {
		t.Fatalf("wharfd stack build failed: %v", stackErr)
	}
}

const goMain = `package main

import (
	"fmt"
	"net/http"
	"os"

	"github.com/google/uuid"
)

func main() {
	id := uuid.NewSHA1(uuid.NameSpaceURL, []byte("wharf"))
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "MSG %s\n", id)
	})
	http.ListenAndServe(":"+os.Getenv("PORT"), nil)
}
`

func goApp(msg string) map[string]string {
	return map[string]string{
		"go.mod": "module example.com/hello\n\ngo 1.26.8\n\nrequire github.com/google/uuid v1.6.0\n",
		"go.sum": "github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=\n" +
			"github.com/google/uuid v1.6.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=\n",
		"main.go": strings.Replace(goMain, "MSG", msg, 1),
	}
}

// goUUID is uuid.NewSHA1(uuid.NameSpaceURL, "wharf"): proof the dependency
// was fetched and linked.
const goUUID = "82dfe973-85b4-5d64-be1e-944461709b49"

// TestBuildpacks is issue 5's acceptance: apps without a Dockerfile, built
// by buildpacks on the locally made stack, answering through the router.
func TestBuildpacks(t *testing.T) {
	docker := testenv.Docker(t)
	buildStack(t)
	// Registered before the daemon, so it runs after the daemon stopped
	// (a running daemon would restart removed containers).
	var apps []string
	t.Cleanup(func() {
		for _, app := range apps {
			removeAppContainers(docker, app)
			docker.VolumeRemove(context.Background(), "wharf-cache-"+app, true)
		}
	})
	newApp := func(prefix string) string {
		app := uniqueApp(prefix)
		apps = append(apps, app)
		return app
	}
	d := newDaemon(t)
	d.start(t)
	p := newPusher(t, d.sshAddr)
	if out, err := d.cli(t, "keys:add", p.key+".pub"); err != nil {
		t.Fatalf("wharf keys:add: %v\n%s", err, out)
	}
	push := func(t *testing.T, app string, files map[string]string) (string, time.Duration, error) {
		t.Helper()
		p.git(t, "remote", "add", app, "ssh://git@"+d.sshAddr+"/"+app+".git")
		return pushTo(t, p, app, files)
	}

	goName := newApp("gobp")
	t.Run("Go app with a module from the proxy", func(t *testing.T) {
		out, took, err := push(t, goName, goApp("hello go"))
		if err != nil {
			t.Fatalf("git push: %v\n%s", err, out)
		}
		t.Logf("FIGURE push-to-live Go (first push, cold cache): %s", took.Round(time.Millisecond))
		t.Logf("push output:\n%s", out)
		for _, want := range []string{"-----> Go app detected", "go: downloading github.com/google/uuid v1.6.0", "-----> Deployed " + goName + " v1"} {
			if !strings.Contains(out, want) {
				t.Errorf("push output lacks %q:\n%s", want, out)
			}
		}
		expectBody(t, d, goName+".localhost", "hello go "+goUUID+"\n")

		out, took2, err := pushTo(t, p, goName, goApp("hello again"))
		if err != nil {
			t.Fatalf("second git push: %v\n%s", err, out)
		}
		t.Logf("FIGURE push-to-live Go (second push, cached modules and build cache): %s (first: %s)", took2.Round(time.Millisecond), took.Round(time.Millisecond))
		if strings.Contains(out, "go: downloading") {
			t.Errorf("second push downloaded modules again:\n%s", out)
		}
		if took2 >= took {
			t.Errorf("second push took %s, not less than the first's %s", took2, took)
		}
		if bt := buildTimes(t, d, goName); len(bt) != 2 || bt[1] >= bt[0] {
			t.Errorf("build times %v: the cached build is not faster", bt)
		}
		expectBody(t, d, goName+".localhost", "hello again "+goUUID+"\n")
	})

	t.Run("Node.js app without dependencies", func(t *testing.T) {
		app := newApp("nodebp")
		out, took, err := push(t, app, map[string]string{
			"package.json": `{"name": "hello", "version": "1.0.0", "scripts": {"start": "node server.js"}}` + "\n",
			"server.js":    "require('http').createServer((req, res) => res.end('hello node ' + process.version + '\\n')).listen(process.env.PORT);\n",
		})
		if err != nil || !strings.Contains(out, "-----> Node.js app detected") {
			t.Fatalf("git push: %v\n%s", err, out)
		}
		t.Logf("FIGURE push-to-live Node.js (first push): %s", took.Round(time.Millisecond))
		expectPrefix(t, d, app+".localhost", "hello node v")
		out, took, err = pushTo(t, p, app, map[string]string{
			"package.json": `{"name": "hello", "version": "1.0.1", "scripts": {"build": "node build.js", "start": "node server.js"}}` + "\n",
			"build.js":     "require('fs').writeFileSync('greeting.txt', 'built by npm run build\\n');\n",
			"server.js":    "const g = require('fs').readFileSync('greeting.txt');\nrequire('http').createServer((req, res) => res.end(g)).listen(process.env.PORT);\n",
		})
		if err != nil || !strings.Contains(out, "Running: npm run build") {
			t.Fatalf("second git push: %v\n%s", err, out)
		}
		t.Logf("FIGURE push-to-live Node.js (second push, with npm run build): %s", took.Round(time.Millisecond))
		expectBody(t, d, app+".localhost", "built by npm run build\n")
		buildTimes(t, d, app)
	})

	t.Run("Python app using only the standard library", func(t *testing.T) {
		app := newApp("pybp")
		files := map[string]string{
			"requirements.txt": "# standard library only\n",
			"Procfile":         "web: python3 app.py\n",
			"app.py": "import http.server, os\n" +
				"open('written-at-start', 'w').write('the app owns /app')\n" +
				"class H(http.server.BaseHTTPRequestHandler):\n" +
				"    def do_GET(self):\n" +
				"        self.send_response(200); self.end_headers(); self.wfile.write(b'hello python uid=%d\\n' % os.getuid())\n" +
				"http.server.HTTPServer(('', int(os.environ['PORT'])), H).serve_forever()\n",
		}
		out, took, err := push(t, app, files)
		if err != nil || !strings.Contains(out, "-----> Python app detected") {
			t.Fatalf("git push: %v\n%s", err, out)
		}
		t.Logf("FIGURE push-to-live Python (first push): %s", took.Round(time.Millisecond))
		expectBody(t, d, app+".localhost", "hello python uid=1000\n")
		files["app.py"] = strings.Replace(files["app.py"], "hello python", "hello again python", 1)
		if out, took, err = pushTo(t, p, app, files); err != nil {
			t.Fatalf("second git push: %v\n%s", err, out)
		}
		t.Logf("FIGURE push-to-live Python (second push): %s", took.Round(time.Millisecond))
		expectBody(t, d, app+".localhost", "hello again python uid=1000\n")
		buildTimes(t, d, app)
	})

	t.Run("static site", func(t *testing.T) {
		app := newApp("staticbp")
		out, took, err := push(t, app, map[string]string{"index.html": "<h1>hello static</h1>\n", "about/index.html": "about\n"})
		if err != nil || !strings.Contains(out, "-----> Static app detected") {
			t.Fatalf("git push: %v\n%s", err, out)
		}
		t.Logf("FIGURE push-to-live static (first push): %s", took.Round(time.Millisecond))
		expectBody(t, d, app+".localhost", "<h1>hello static</h1>\n")
		if code, body, err := d.get(app+".localhost", "/about/"); err != nil || code != 200 || body != "about\n" {
			t.Errorf("GET /about/ = %d %q %v", code, body, err)
		}
		if out, took, err = pushTo(t, p, app, map[string]string{"public/index.html": "<h1>SPA</h1>\n", "public/app.js": "x\n"}); err != nil {
			t.Fatalf("second git push: %v\n%s", err, out)
		}
		t.Logf("FIGURE push-to-live static (second push): %s", took.Round(time.Millisecond))
		expectBody(t, d, app+".localhost", "<h1>SPA</h1>\n")
		if code, _, _ := d.get(app+".localhost", "/app.js"); code != 200 {
			t.Errorf("GET /app.js from public/ = %d", code)
		}
		if code, _, _ := d.get(app+".localhost", "/about/"); code != 404 {
			t.Errorf("GET /about/ after it was removed = %d, want 404", code)
		}
		buildTimes(t, d, app)
	})

	t.Run("custom buildpack from BUILDPACK_URL", func(t *testing.T) {
		app := newApp("custombp")
		bp := customBuildpack(t)
		if out, err := d.cli(t, "apps:create", app); err != nil {
			t.Fatalf("apps:create: %v\n%s", err, out)
		}
		if out, err := d.cli(t, "config:set", "-a", app, "--no-restart", "BUILDPACK_URL=file://"+bp+"#stable", "GREETING=hi from ENV_DIR"); err != nil {
			t.Fatalf("config:set: %v\n%s", err, out)
		}
		out, took, err := push(t, app, map[string]string{"README": "built by my own buildpack\n"})
		if err != nil || !strings.Contains(out, "-----> Custom app detected") || !strings.Contains(out, "custom compile ran") {
			t.Fatalf("git push: %v\n%s", err, out)
		}
		t.Logf("FIGURE push-to-live custom buildpack: %s", took.Round(time.Millisecond))
		expectBody(t, d, app+".localhost", "hi from ENV_DIR\n")
	})

	t.Run("Go toolchain from go.mod fetched from the module proxy", func(t *testing.T) {
		app := newApp("gotc")
		files := goApp("old toolchain")
		files["go.mod"] = strings.Replace(files["go.mod"], "go 1.26.8", "go 1.25.0", 1)
		files["main.go"] = strings.Replace(strings.Replace(goMain, `"MSG %s\n", id)`, `"old toolchain %s %s\n", id, runtime.Version())`, 1),
			`"os"`, `"os"
	"runtime"`, 1)
		out, took, err := push(t, app, files)
		if err != nil || !strings.Contains(out, "-----> Installing go1.25.0 (from go.mod)") {
			t.Fatalf("git push: %v\n%s", err, out)
		}
		t.Logf("FIGURE push-to-live Go with a toolchain fetched from the proxy: %s", took.Round(time.Millisecond))
		expectBody(t, d, app+".localhost", "old toolchain "+goUUID+" go1.25.0\n")
	})

	t.Run(".buildpacks file, and a build over its time limit is stopped", func(t *testing.T) {
		app := newApp("slowbp")
		bp := customBuildpack(t)
		if out, err := d.cli(t, "apps:create", app); err != nil {
			t.Fatalf("apps:create: %v\n%s", err, out)
		}
		if out, err := d.cli(t, "config:set", "-a", app, "--no-restart", "BUILD_TIMEOUT=3s"); err != nil {
			t.Fatalf("config:set: %v\n%s", err, out)
		}
		start := time.Now()
		out, _, err := push(t, app, map[string]string{".buildpacks": "# the slow one\nfile://" + bp + "#slow\n"})
		if err == nil || !strings.Contains(out, "[remote rejected]") || !strings.Contains(out, "ran longer than its time limit of 3s") {
			t.Fatalf("slow build was not stopped: %v\n%s", err, out)
		}
		if !strings.Contains(out, "slow compile started") {
			t.Errorf("the .buildpacks buildpack did not run:\n%s", out)
		}
		if took := time.Since(start); took > 40*time.Second {
			t.Errorf("a build with a 3s limit took %s to be stopped", took)
		}
	})

	t.Run("undetectable repo is rejected, old release serving", func(t *testing.T) {
		out, _, err := pushTo(t, p, goName, map[string]string{"go.mod": "", "go.sum": "", "main.go": "", "README": "nothing to build\n"})
		if err == nil || !strings.Contains(out, "[remote rejected]") {
			t.Fatalf("push of an undetectable tree was not rejected: %v\n%s", err, out)
		}
		for _, want := range []string{"no buildpack detected", "Go: go.mod", "Node.js: package.json", "static: index.html, public/"} {
			if !strings.Contains(out, want) {
				t.Errorf("rejection lacks %q:\n%s", want, out)
			}
		}
		expectBody(t, d, goName+".localhost", "hello again "+goUUID+"\n")
	})

	t.Run("failing compile is rejected with its output, old release serving", func(t *testing.T) {
		files := goApp("broken")
		files["main.go"] += "\nfunc broken() { undefinedThing() }\n"
		out, _, err := pushTo(t, p, goName, files)
		if err == nil || !strings.Contains(out, "[remote rejected]") {
			t.Fatalf("push of a broken Go app was not rejected: %v\n%s", err, out)
		}
		t.Logf("rejected push output:\n%s", out)
		for _, want := range []string{"undefined: undefinedThing", "failed to compile"} {
			if !strings.Contains(out, want) {
				t.Errorf("rejection lacks %q:\n%s", want, out)
			}
		}
		expectBody(t, d, goName+".localhost", "hello again "+goUUID+"\n")
	})

	t.Run("builds, builds:output and builds:cache:purge", func(t *testing.T) {
		out, err := d.cli(t, "builds", "-a", goName)
		if err != nil || strings.Count(out, "succeeded") != 2 || !strings.Contains(out, "failed") {
			t.Errorf("wharf builds: %v\n%s", err, out)
		}
		out, err = d.cli(t, "builds:output", "-a", goName)
		if err != nil || !strings.Contains(out, "undefined: undefinedThing") {
			t.Errorf("wharf builds:output: %v\n%s", err, out)
		}
		out, err = d.cli(t, "builds:cache:purge", "-a", goName)
		if err != nil || !strings.Contains(out, "Purged the build cache of "+goName) {
			t.Errorf("wharf builds:cache:purge: %v\n%s", err, out)
		}
	})
}

// pushTo commits files (removing the tracked files not among them) and
// pushes them to the remote named app, timing push to live.
func pushTo(t *testing.T, p *pusher, app string, files map[string]string) (string, time.Duration, error) {
	t.Helper()
	p.git(t, "rm", "-rq", "--ignore-unmatch", ".")
	for name, body := range files {
		if body == "" {
			delete(files, name)
		}
	}
	p.commit(t, "commit for "+app, files)
	start := time.Now()
	out, err := p.gitErr("push", "-f", app, "HEAD:main")
	return out, time.Since(start), err
}

// customBuildpack makes a git repo holding a buildpack whose stable branch
// serves $GREETING from ENV_DIR with python's http.server.
func customBuildpack(t *testing.T) string {
	dir := t.TempDir()
	run := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(name, body string) {
		path := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run("init", "-q", "-b", "main")
	write("bin/detect", "#!/bin/sh\necho Custom\n")
	write("bin/compile", "#!/bin/sh\necho \"-----> custom compile ran (the main branch)\"\nexit 1\n")
	write("bin/release", "#!/bin/sh\necho '---'\n")
	run("add", ".")
	run("commit", "-qm", "broken main")
	run("checkout", "-qb", "stable")
	write("bin/compile", "#!/bin/sh\necho \"-----> custom compile ran\"\nmkdir -p \"$1/www\"\ncat \"$3/GREETING\" > \"$1/www/index.html\"\necho >> \"$1/www/index.html\"\n")
	write("bin/release", "#!/bin/sh\necho '---'\necho 'default_process_types:'\necho '  web: python3 -m http.server $PORT --directory www'\n")
	run("add", ".")
	run("commit", "-qm", "stable")
	run("checkout", "-qb", "slow")
	write("bin/compile", "#!/bin/sh\necho \"-----> slow compile started\"\nsleep 300\n")
	run("add", ".")
	run("commit", "-qm", "slow")
	run("checkout", "-q", "main")
	return dir
}

// expectPrefix waits for host's / to answer 200 with a body starting with prefix.
func expectPrefix(t *testing.T, d *daemon, host, prefix string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body, err := d.get(host, "/")
		if err == nil && code == 200 && strings.HasPrefix(body, prefix) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s/ = %d %q %v, want a body starting with %q", host, code, body, err, prefix)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// buildTimes returns app's build durations, oldest first, from wharf builds --json.
func buildTimes(t *testing.T, d *daemon, app string) []time.Duration {
	t.Helper()
	out, err := d.cli(t, "builds", "-a", app, "--json")
	if err != nil {
		t.Fatalf("wharf builds --json: %v\n%s", err, out)
	}
	var builds []wharf.Build
	if err := json.Unmarshal([]byte(out), &builds); err != nil {
		t.Fatalf("decoding builds: %v\n%s", err, out)
	}
	var ds []time.Duration
	for _, b := range slices.Backward(builds) {
		ds = append(ds, b.FinishedAt.Sub(b.StartedAt).Round(10*time.Millisecond))
	}
	t.Logf("FIGURE build durations of %s (first, then cached): %v", app, ds)
	return ds
}
