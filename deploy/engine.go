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
type engine interface {
	// ImagePort returns the image's EXPOSEd TCP port when it has exactly
	// one, and 0 otherwise.
	ImagePort(ctx context.Context, image string) (int, error)
	// Run creates and starts w. The returned channel receives the exit
	// code the next time the container stops, until ctx ends. When Run
	// fails after creating the container, it returns the container's id
	// so that the caller can read its logs and remove it.
	Run(ctx context.Context, w workload) (id string, exited <-chan int, err error)
	// Keep makes the engine restart a container whenever it stops, from
	// now on, without restarting it now. Run starts containers without a
	// restart policy, so that an exit while it is being checked is final.
	Keep(ctx context.Context, id string) error
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
	// RemoveImages deletes the tags wharf/<app>:*, and the images they
	// were the last name of.
	RemoveImages(ctx context.Context, app string) error
}

// workload is one process of a release, as the Deployer asks for it.
type workload struct {
	App       string
	Release   int
	Type      string // process type: "web"
	Instance  int
	Image     string
	Env       []string // KEY=value, PORT included
	Port      int      // the port the process listens on inside the container
	Memory    int64
	PidsLimit int64
}

// name is the container name: wharf-<app>-<type>-<instance>-v<release>, so
// that `docker ps --filter name=<app>` finds it.
func (w workload) name() string {
	return containerName(w.App, w.Type, w.Instance, w.Release)
}

func containerName(app, typ string, instance, release int) string {
	return "wharf-" + app + "-" + typ + "-" + strconv.Itoa(instance) + "-v" + strconv.Itoa(release)
}

// instance is a container as the engine sees it now.
type instance struct {
	wharf.Process
	Running  bool // running or restarting
	ExitCode int  // of the last exit, when not running
}
