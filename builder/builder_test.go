package builder

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/internal/testenv"
)

func randomHex(t testing.TB) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// newBuilder returns a Builder on the real engine, a fresh tag whose image
// is removed after the test, and the engine client.
func newBuilder(t *testing.T) (*Builder, string, *client.Client) {
	t.Helper()
	cli := testenv.Docker(t)
	testenv.Busybox(t)
	tag := "wharf-test/builder-" + randomHex(t) + ":1"
	t.Cleanup(func() {
		cli.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	return New(cli, slog.New(slog.DiscardHandler)), tag, cli
}

func request(r *gitRepo, commit, tag string) Request {
	return Request{App: "hello", Commit: commit, RepoPath: r.bare, Tag: tag, Labels: map[string]string{wharf.LabelApp: "hello", wharf.LabelCommit: commit}}
}

// runImage runs img to completion and returns what it printed.
func runImage(t *testing.T, cli *client.Client, img string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := cli.ContainerCreate(ctx, &container.Config{Image: img}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
	if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	waitC, errC := cli.ContainerWait(ctx, c.ID, container.WaitConditionNotRunning)
	select {
	case <-waitC:
	case err := <-errC:
		t.Fatal(err)
	}
	logs, err := cli.ContainerLogs(ctx, c.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, logs); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

const appDockerfile = `FROM wharf-test/busybox:latest
COPY . /app
EXPOSE 8080
EXPOSE 9000/udp
CMD ["/bin/sh", "-c", "cat /app/hello.txt; /app/bin/run.sh; [ -L /app/link.txt ] && echo link: $(cat /app/link.txt); ls -a /app /app/docs"]
`

func TestBuildDockerfileApp(t *testing.T) {
	b, tag, cli := newBuilder(t)
	r, commit := sampleApp(t, appDockerfile)
	var out bytes.Buffer
	res, err := b.Build(context.Background(), request(r, commit, tag), &out)
	if err != nil {
		t.Fatalf("Build: %v\noutput:\n%s", err, out.String())
	}
	if n := strings.Count(out.String(), " : LABEL "); n != 1 {
		t.Errorf("want the image labels in one LABEL step (each step costs about a second), got %d:\n%s", n, out.String())
	}
	for _, want := range []string{"warning: submodule vendor/lib is not included in the build\n", "Step 1/6 : FROM wharf-test/busybox:latest\n", "Step 2/6 : COPY . /app\n", "EXPOSE 8080", "Successfully tagged " + tag} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("build output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "\x1b[") {
		t.Errorf("build output has terminal escapes:\n%q", out.String())
	}

	img, err := cli.ImageInspect(context.Background(), tag)
	if err != nil {
		t.Fatal(err)
	}
	if res.Image != tag || res.ImageID != img.ID || !strings.HasPrefix(res.ImageID, "sha256:") {
		t.Errorf("result = %+v; want image %s with ID %s", res, tag, img.ID)
	}
	if !slices.Equal(res.ExposedPorts, []int{8080, 9000}) {
		t.Errorf("exposed ports = %v, want [8080 9000]", res.ExposedPorts)
	}
	if img.Config.Labels[wharf.LabelApp] != "hello" || img.Config.Labels[wharf.LabelCommit] != commit {
		t.Errorf("image labels = %v", img.Config.Labels)
	}

	got := runImage(t, cli, tag)
	for _, want := range []string{"hello from wharf\n", "script ran\n", "link: hello from wharf\n", "hello.txt\n", "keep.md\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("container output lacks %q:\n%s", want, got)
		}
	}
	for _, absent := range []string{"secret.txt", "logs", "drop.md", "Dockerfile", ".dockerignore"} {
		if strings.Contains(got, absent) {
			t.Errorf("%s is in the image; .dockerignore excludes it:\n%s", absent, got)
		}
	}
}

func TestBuildFailingRun(t *testing.T) {
	b, tag, cli := newBuilder(t)
	r := newGitRepo(t)
	r.write(map[string]string{"Dockerfile": "FROM wharf-test/busybox:latest\nRUN false\n"})
	commit := r.commit("fails")
	var out bytes.Buffer
	_, err := b.Build(context.Background(), request(r, commit, tag), &out)
	want := "build failed: The command '/bin/sh -c false' returned a non-zero code: 1"
	if wharf.ErrorCode(err) != wharf.EINVALID || wharf.ErrorMessage(err) != want {
		t.Fatalf("error = %v (code %s), want EINVALID %q", err, wharf.ErrorCode(err), want)
	}
	if !strings.Contains(out.String(), "Step 2/3 : RUN false\n") {
		t.Errorf("build output lacks the failing step:\n%s", out.String())
	}
	if _, err := cli.ImageInspect(context.Background(), tag); err == nil {
		t.Errorf("image %s exists after a failed build", tag)
	}
}

func TestBuildMissingBaseImage(t *testing.T) {
	b, tag, _ := newBuilder(t)
	r := newGitRepo(t)
	r.write(map[string]string{"Dockerfile": "FROM does-not-exist/nothing:1\nCMD true\n"})
	commit := r.commit("no base")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	_, err := b.Build(ctx, request(r, commit, tag), io.Discard)
	msg := wharf.ErrorMessage(err)
	if wharf.ErrorCode(err) != wharf.EINVALID || !strings.HasPrefix(msg, "build failed: FROM does-not-exist/nothing:1: the base image is not available") || strings.Contains(msg, "\n") {
		t.Fatalf("error = %v (code %s), want one-line EINVALID naming the base image", err, wharf.ErrorCode(err))
	}
	t.Log(msg)
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %v to fail", d)
	}
}

func TestBuildWithoutDockerfile(t *testing.T) {
	b, tag, _ := newBuilder(t)
	r := newGitRepo(t)
	r.write(map[string]string{"dockerfile": "FROM scratch\n", "sub/Dockerfile": "FROM scratch\n", "sub/index.html": "hi\n"})
	commit := r.commit("nothing to build")
	var out bytes.Buffer
	_, err := b.Build(context.Background(), request(r, commit, tag), &out)
	want := "no buildpack detected an app at the root of commit " + commit[:7] + " (looked for Dockerfile: Dockerfile; Go: go.mod; Node.js: package.json; " +
		"Python: requirements.txt, pyproject.toml, Pipfile; static: index.html, public/; Procfile: Procfile); set BUILDPACK_URL or add a .buildpacks file to choose one"
	if wharf.ErrorCode(err) != wharf.EINVALID || wharf.ErrorMessage(err) != want {
		t.Fatalf("error = %v (code %s), want EINVALID %q", err, wharf.ErrorCode(err), want)
	}
	if out.Len() != 0 {
		t.Errorf("output = %q, want nothing", out.String())
	}
}

func TestBuildFromQuarantine(t *testing.T) {
	b, tag, cli := newBuilder(t)
	r, _ := sampleApp(t, appDockerfile)
	r.run(r.bare, "gc", "-q")
	r.run(r.bare, "config", "receive.unpackLimit", "1") // keep the pushed pack
	r.write(map[string]string{"hello.txt": "hello from the quarantine\n"})
	commit, objDir := r.pushQuarantined("second")

	req := request(r, commit, tag)
	if _, err := b.Build(context.Background(), req, io.Discard); wharf.ErrorCode(err) != wharf.ENOTFOUND {
		t.Fatalf("without the quarantine dir: error = %v, want ENOTFOUND", err)
	}
	req.ObjectDirs = []string{objDir}
	var out bytes.Buffer
	if _, err := b.Build(context.Background(), req, &out); err != nil {
		t.Fatalf("Build: %v\n%s", err, out.String())
	}
	got := runImage(t, cli, tag)
	if !strings.Contains(got, "hello from the quarantine\n") || !strings.Contains(got, "script ran\n") {
		t.Errorf("container output:\n%s\nwant the quarantined hello.txt and the repository's run.sh", got)
	}
}

// signalWriter collects output and closes seen once it contains marker.
type signalWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	seen   chan struct{}
	once   sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.marker) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func TestBuildCancel(t *testing.T) {
	b, tag, cli := newBuilder(t)
	marker := "wharf-cancel-" + randomHex(t)
	r := newGitRepo(t)
	r.write(map[string]string{"Dockerfile": "FROM wharf-test/busybox:latest\nRUN echo " + marker + " && sleep 300\n"})
	commit := r.commit("slow")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &signalWriter{marker: marker + "\n", seen: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := b.Build(ctx, request(r, commit, tag), w)
		done <- err
	}()
	select {
	case <-w.seen:
	case err := <-done:
		t.Fatalf("build ended before the slow step: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the slow step never started")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Build did not return after its context was cancelled")
	}
	waitNoBuildContainer(t, cli, marker)
}

// waitNoBuildContainer waits until no container runs the step with marker.
func waitNoBuildContainer(t *testing.T, cli *client.Client, marker string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("ancestor", testenv.BusyboxImage))})
		if err != nil {
			t.Fatal(err)
		}
		left := slices.ContainsFunc(list, func(c container.Summary) bool { return strings.Contains(c.Command, marker) })
		if !left {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the cancelled build's container is still there")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
