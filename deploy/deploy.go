// Package deploy owns the step from a release to running containers: it
// runs a release's formation (web and other process types, each instance a
// confined container) on the local Docker Engine, runs the release phase
// first, waits until the new web processes answer their health check,
// switches the routes to them, then drains and stops what they replace.
// Scale and Restart converge the same way with no failed request. A
// reconcile loop keeps the engine matching the desired state: it restarts
// crashed processes with exponential backoff (reporting those that keep
// crashing), replaces removed ones and removes orphans. It also adopts the
// containers it finds when the daemon starts, lists live processes,
// collects old images and destroys an app's containers and images.
//
// Everything it starts carries Wharf's labels, so the engine itself is the
// record of what runs; the ProcessStore holds the processes of each app's
// current release with their state, and the router sends traffic to the
// running web ones.
package deploy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/docker/docker/client"
	"github.com/wharfhq/wharf"
)

// ProcessStore records the processes the router sends traffic to.
type ProcessStore interface {
	// SetProcesses replaces all of the app's rows.
	SetProcesses(ctx context.Context, app string, ps []wharf.Process) error
	ListProcesses(ctx context.Context, app string) ([]wharf.Process, error)
}

// RouteSyncer makes the local router reload the routes now.
type RouteSyncer interface {
	SyncRoutes(ctx context.Context) error
}

// Options configure a Deployer. Docker and Store are required.
type Options struct {
	Docker        client.APIClient
	Store         ProcessStore
	Routes        RouteSyncer // may be nil
	Logger        *slog.Logger
	HealthTimeout time.Duration // default 60s
	DrainDelay    time.Duration // default 1s: after the route switch, before old containers get SIGTERM
	StopGrace     time.Duration // default 10s from SIGTERM to SIGKILL
	Memory        int64         // bytes, per process; default 512 MiB
	PidsLimit     int64         // default 512
	Settle        time.Duration // default 1.5s: how long a non-web process must keep running to count as started
	// ReleaseTimeout bounds the release phase; default 15 minutes.
	ReleaseTimeout time.Duration
	// BackoffBase and BackoffMax bound the delay before a crashed process
	// is restarted: BackoffBase doubled per consecutive crash, at most
	// BackoffMax (defaults 1s and 60s). A process that stays up ResetAfter
	// (default 30s) starts again from BackoffBase.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	ResetAfter  time.Duration
	// CrashLimit crashes within CrashWindow mark a process crashed in
	// ps (defaults 5 and 5 minutes); it is still retried every BackoffMax.
	CrashLimit  int
	CrashWindow time.Duration
	// OnCrash, when set, is told of every exit the reconcile loop counts
	// as a crash (for the activity feed). It must not block.
	OnCrash func(Crash)
	// Installation labels every container this Deployer makes; Adopt,
	// Processes and Destroy then see only those, so several installations
	// (or test runs) can share one Docker Engine. "" sees every Wharf container.
	Installation string
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HealthTimeout <= 0 {
		o.HealthTimeout = 60 * time.Second
	}
	if o.DrainDelay <= 0 {
		o.DrainDelay = time.Second
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 10 * time.Second
	}
	if o.Memory <= 0 {
		o.Memory = 512 << 20
	}
	if o.PidsLimit <= 0 {
		o.PidsLimit = 512
	}
	o.setHealingDefaults()
}

func (o *Options) setHealingDefaults() {
	if o.Settle <= 0 {
		o.Settle = 1500 * time.Millisecond
	}
	if o.ReleaseTimeout <= 0 {
		o.ReleaseTimeout = 15 * time.Minute
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = time.Minute
	}
	if o.ResetAfter <= 0 {
		o.ResetAfter = 30 * time.Second
	}
	if o.CrashLimit <= 0 {
		o.CrashLimit = 5
	}
	if o.CrashWindow <= 0 {
		o.CrashWindow = 5 * time.Minute
	}
}

// Deployer runs releases. It is safe for concurrent use; work on one app is
// serialised.
type Deployer struct {
	o     Options
	eng   engine
	log   *slog.Logger
	locks appLocks
	book  book
}

// New returns a Deployer that runs containers on o.Docker.
func New(o Options) *Deployer {
	o.setDefaults()
	return &Deployer{o: o, eng: dockerEngine{cli: o.Docker, installation: o.Installation}, log: o.Logger}
}

// Spec is what to run for one release of an app: the desired state.
type Spec struct {
	App     string
	Release int
	Image   string
	Env     map[string]string // config vars
	Port    int               // 0: the image's EXPOSEd port if it has exactly one, else 5000
	// Processes is the formation: process type → what to run and how many.
	// Empty means {"web": {Quantity: 1}} with the image's own command.
	Processes map[string]ProcessSpec
	// Health is how web processes are checked before they get traffic.
	Health HealthCheck
	// Volumes are named volumes mounted into every process; they survive
	// deploys, rollbacks and restarts.
	Volumes []Volume
	// Placement constrains where the app's processes run on a swarm, e.g.
	// "node.labels.tier==web" (Swarm's constraint syntax); the single-host
	// backend has one node and ignores it.
	Placement []string
	// ReleaseCommand (the Procfile's release:) runs once, in a container of
	// the new image, before the swap; when it fails the deploy stops and
	// the running release stays. Empty: no release phase.
	ReleaseCommand string
}

// ProcessSpec is one process type of a formation.
type ProcessSpec struct {
	// Command is run with sh -c; "" runs the image's own command.
	Command  string
	Quantity int     // 0 runs none of this type
	Memory   int64   // bytes; 0 = the Deployer's default
	CPUs     float64 // 0 = no limit
}

// HealthCheck says when a new web process is ready for traffic: it accepts
// TCP on its port and GET Path answers below 500, within Timeout. With
// Attempts, the check fails after that many answers of 500 or more
// (refused connections while the app boots do not count). Zero values take
// the defaults: /, Options.HealthTimeout (60 s), no limit on answers.
type HealthCheck struct {
	Path     string
	Timeout  time.Duration
	Attempts int
}

// Volume is a named Docker volume mounted at Path.
type Volume struct {
	Name string
	Path string
}

// DefaultPort is the port a web process listens on when neither the spec nor
// the image says otherwise.
const DefaultPort = 5000

// logLines is how much of a failed container's output an error quotes.
const logLines = 20

// Deploy runs release s: the release phase first when s has one, then every
// process of its formation in new containers, ready (web ones answering
// their health check), routed, and the app's other containers drained and
// stopped; progress lines go to out. When anything fails, everything new
// is removed, the running release and the store stay untouched, and the
// error is EINVALID, quoting the failing container's last log lines.
func (d *Deployer) Deploy(ctx context.Context, s Spec, out io.Writer) error {
	return d.locked(ctx, "deploy", s, out, d.releasePhase, func(instance) bool { return true })
}

// remove force-removes a container, even when ctx has ended, and logs a
// failure: the next reconcile round removes what is left.
func (d *Deployer) remove(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := d.eng.Remove(ctx, id, 0); err != nil {
		d.log.Warn("removing container", "container", id, "err", err)
	}
}

func (d *Deployer) warn(out io.Writer, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(out, "Warning: %s\n", msg)
	d.log.Warn(msg)
}
