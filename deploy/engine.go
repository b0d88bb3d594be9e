package deploy

import (
	"context"
	"strconv"
	"time"

	"github.com/wharfhq/wharf"
)

// engine is the container backend the Deployer drives. The local Docker
// Engine implements it (dockerEngine); a Swarm backend can follow without
// changing the Deployer's callers. Every container an engine makes carries
// Wharf's labels, so List finds it again after a daemon restart.
//
// Containers run without a restart policy: the Deployer, not the engine,
// restarts crashed processes, so that its backoff and crash reports are the
// only ones (see reconcile.go).
type engine interface {
	// ImagePort returns the image's EXPOSEd TCP port when it has exactly
	// one, and 0 otherwise.
	ImagePort(ctx context.Context, image string) (int, error)
	// Run creates and starts w. The returned channel receives the exit
	// code the next time the container stops, until ctx ends. When Run
	// fails after creating the container, it returns the container's id
	// so that the caller can read its logs and remove it.
	Run(ctx context.Context, w workload) (id string, exited <-chan int, err error)
	// Start starts a stopped container again; exited is as for Run.
	Start(ctx context.Context, id string) (exited <-chan int, err error)
	// Stop stops a container at once (SIGKILL), keeping it and its logs.
	Stop(ctx context.Context, id string) error
	// RunOnce runs w to completion (the release phase), removes its
	// container and returns its exit code and last lines of output.
	RunOnce(ctx context.Context, w workload, lines int) (code int, output string, err error)
	// Inspect returns the live state of one container.
	Inspect(ctx context.Context, id string) (instance, error)
	// List returns the managed containers of app, or of every app when
	// app is "", running or not.
	List(ctx context.Context, app string) ([]instance, error)
	// Rename gives a container a new name.
	Rename(ctx context.Context, id, name string) error
	// Remove stops a container (SIGTERM, SIGKILL after grace; at once
	// when grace is 0) and deletes it. A missing container is no error.
	Remove(ctx context.Context, id string, grace time.Duration) error
	// Logs returns the last n lines of a container's output.
	Logs(ctx context.Context, id string, n int) (string, error)
	// Events sends on kick (without blocking) whenever a managed container
	// dies, is OOM-killed or removed, until ctx ends or the stream fails.
	Events(ctx context.Context, kick chan<- struct{}) error
	// EnsureVolume creates app's named volume unless it exists, and
	// returns the engine's name for it.
	EnsureVolume(ctx context.Context, app, name string) (string, error)
	// RemoveVolume deletes app's named volume; a missing one is no error.
	RemoveVolume(ctx context.Context, app, name string) error
	// RemoveImages deletes the tags wharf/<app>:* but those in keep, and
	// the images they were the last name of; with all, every tag (keep is
	// ignored) even when a container still uses it. It then prunes the
	// app's dangling images.
	RemoveImages(ctx context.Context, app string, keep []string, all bool) error
}

// workload is one process of a release, as the Deployer asks for it.
type workload struct {
	App       string
	Release   int
	Type      string // process type: "web", "worker", …
	Instance  int
	Image     string
	Command   string   // run with sh -c; "" runs the image's command
	Env       []string // KEY=value, PORT included for web
	Port      int      // web: the port the process listens on; 0: nothing published
	Memory    int64
	NanoCPUs  int64
	PidsLimit int64
	Volumes   []Volume // Name is the engine's volume name
	Health    HealthCheck
}

// name is the container name: wharf-<app>-<type>-<instance>-v<release>, so
// that `docker ps --filter name=<app>` finds it.
func (w workload) name() string {
	if w.Type == releaseType {
		return "wharf-" + w.App + "-release-v" + strconv.Itoa(w.Release)
	}
	return containerName(w.App, w.Type, w.Instance, w.Release)
}

func containerName(app, typ string, instance, release int) string {
	return "wharf-" + app + "-" + typ + "-" + strconv.Itoa(instance) + "-v" + strconv.Itoa(release)
}

// releaseType labels the release phase's container; no process type may
// use the name.
const releaseType = "release"

// instance is a container as the engine sees it now.
type instance struct {
	wharf.Process
	Running    bool // running or restarting
	FinishedAt time.Time
}

// slot is what identifies a process of a formation: a restarted or
// replaced container fills the same slot.
type slot struct {
	App      string
	Type     string
	Instance int
}

func (in instance) slot() slot { return slot{in.App, in.Type, in.Instance} }
func (w workload) slot() slot  { return slot{w.App, w.Type, w.Instance} }
