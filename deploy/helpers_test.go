package deploy

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/internal/testenv"
)

// memStore is the in-memory ProcessStore the tests use while the Postgres
// one is being written.
type memStore struct {
	mu   sync.Mutex
	rows map[string][]wharf.Process
	sets int
}

func (m *memStore) SetProcesses(_ context.Context, app string, ps []wharf.Process) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rows == nil {
		m.rows = map[string][]wharf.Process{}
	}
	m.rows[app] = append([]wharf.Process(nil), ps...)
	m.sets++
	return nil
}

func (m *memStore) ListProcesses(_ context.Context, app string) ([]wharf.Process, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]wharf.Process(nil), m.rows[app]...), nil
}

// only returns the app's single recorded process, failing otherwise.
func (m *memStore) only(t *testing.T, app string) wharf.Process {
	t.Helper()
	ps, _ := m.ListProcesses(context.Background(), app)
	if len(ps) != 1 {
		t.Fatalf("store holds %d processes of %s, want 1: %+v", len(ps), app, ps)
	}
	return ps[0]
}

type routeCounter struct {
	mu    sync.Mutex
	syncs int
}

func (r *routeCounter) SyncRoutes(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncs++
	return nil
}

// env is one test's Docker client, store and deployer.
type env struct {
	cli    *client.Client
	store  *memStore
	routes *routeCounter
	d      *Deployer
}

func newEnv(t *testing.T, o Options) *env {
	t.Helper()
	testenv.Busybox(t)
	e := &env{cli: testenv.Docker(t), store: &memStore{}, routes: &routeCounter{}}
	o.Docker, o.Store, o.Routes = e.cli, e.store, e.routes
	if o.Installation == "" {
		o.Installation = "deploy-test-" + t.Name() + "-" + randomSuffix()
	}
	if o.StopGrace == 0 {
		o.StopGrace = 3 * time.Second
	}
	if o.Logger == nil && os.Getenv("WHARF_TEST_LOG") != "" {
		o.Logger = slog.New(slog.NewTextHandler(tWriter{t}, nil))
	}
	e.d = New(o)
	return e
}

// tWriter sends log lines to the test's log (WHARF_TEST_LOG=1).
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// appName returns an app name no other test or run uses, and removes the
// app's containers and images when the test ends.
func (e *env) appName(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	app := "t" + prefix + "-" + hex.EncodeToString(b)
	t.Cleanup(func() { e.cleanup(t, app) })
	return app
}

func (e *env) cleanup(t *testing.T, app string) {
	ctx := context.Background()
	f := filters.NewArgs(filters.Arg("label", wharf.LabelApp+"="+app))
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		t.Errorf("cleanup: %v", err)
	}
	for _, c := range list {
		_ = e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	}
	imgs, _ := e.cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", "wharf/"+app))})
	for _, img := range imgs {
		for _, tag := range img.RepoTags {
			_, _ = e.cli.ImageRemove(ctx, tag, image.RemoveOptions{PruneChildren: true})
		}
	}
	vols, _ := e.cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	for _, v := range vols.Volumes {
		_ = e.cli.VolumeRemove(ctx, v.Name, true)
	}
	_, _ = e.cli.ImagesPrune(ctx, filters.NewArgs(filters.Arg("dangling", "true"), filters.Arg("label", wharf.LabelApp+"="+app)))
}

// reconcile runs e.d.Reconcile with a fixed desired state until the test
// ends.
func (e *env) reconcile(t *testing.T, desired map[string]Spec, every time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.d.Reconcile(ctx, func(context.Context) (map[string]Spec, error) { return desired, nil }, every)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// webApp serves $BODY at / with busybox httpd on $PORT.
const webApp = `FROM ` + testenv.BusyboxImage + `
CMD echo "$BODY" > /www/index.html && exec httpd -f -p $PORT -h /www
`

// build builds dockerfile as tag from an in-memory context.
func (e *env) build(t *testing.T, tag, dockerfile string) string {
	t.Helper()
	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile))}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write([]byte(dockerfile))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	resp, err := e.cli.ImageBuild(context.Background(), &ctxTar, build.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true})
	if err != nil {
		t.Fatalf("building %s: %v", tag, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("building %s: %v", tag, err)
		}
		if msg.Error != "" {
			t.Fatalf("building %s: %s", tag, msg.Error)
		}
	}
	return tag
}

// deploy deploys s and fails the test on error, returning the progress.
func (e *env) deploy(t *testing.T, s Spec) string {
	t.Helper()
	var out bytes.Buffer
	if err := e.d.Deploy(context.Background(), s, &out); err != nil {
		t.Fatalf("deploying %s v%d: %v\noutput:\n%s", s.App, s.Release, err, out.String())
	}
	return out.String()
}

var httpClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}

// get returns the body of GET http://addr/, or an error unless it is 200.
func get(addr string) (string, error) { return getPath(addr, "/") }

// getPath returns the body of GET http://addr<path>, or an error unless it
// is 200.
func getPath(addr, path string) (string, error) {
	resp, err := httpClient.Get("http://" + addr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s", addr, resp.Status)
	}
	return string(b), nil
}

func mustGet(t *testing.T, addr, want string) {
	t.Helper()
	body, err := get(addr)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(body) != want {
		t.Fatalf("GET %s = %q, want %q", addr, body, want)
	}
}

// containers returns the IDs of the app's containers, running or not.
func (e *env) containers(t *testing.T, app string) []string {
	t.Helper()
	f := filters.NewArgs(filters.Arg("label", wharf.LabelApp+"="+app))
	list, err := e.cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	return ids
}

func itoa(n int) string { return fmt.Sprint(n) }

// randomSuffix keeps two runs of the same test (a developer's and CI's on
// one engine) from sharing an installation and removing each other's work.
func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
