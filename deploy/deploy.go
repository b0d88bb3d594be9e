// Package deploy owns the step from a release to running containers: it
// starts a release's web process on the local Docker Engine, waits until it
// answers, switches the route to it, then drains and stops the release it
// replaces. It also adopts the containers it finds when the daemon starts,
// lists live processes and destroys an app's containers and images.
//
// Everything it starts carries Wharf's labels, so the engine itself is the
// record of what runs; the ProcessStore is told only what is routed.
package deploy

import (
	"context"
	"errors"
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
	Memory        int64         // bytes; default 512 MiB
	PidsLimit     int64         // default 512
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
}

// Deployer runs releases. It is safe for concurrent use; work on one app is
// serialised.
type Deployer struct {
	o     Options
	eng   engine
	log   *slog.Logger
	locks appLocks
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
// TCP on its port and GET Path answers below 500, within Timeout, trying up
// to Attempts times. Zero values take the defaults (/, 60 s, unlimited).
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

// Deploy starts release s.Release, waits until it answers on its port,
// routes the app to it and stops the app's other containers, writing
// progress lines to out. When the new container fails to start or answer,
// Deploy removes it, leaves the running release and the store untouched and
// returns an EINVALID *wharf.Error quoting the container's last log lines.
func (d *Deployer) Deploy(ctx context.Context, s Spec, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	if err := s.validate(); err != nil {
		return err
	}
	unlock, err := d.locks.lock(ctx, s.App)
	if err != nil {
		return wharf.Errorf(wharf.EINVALID, "deploy of %s v%d cancelled while waiting for another deploy: %v", s.App, s.Release, err)
	}
	defer unlock()
	return d.deploy(ctx, s, out)
}

// deploy does Deploy's work; the caller holds the app's lock.
func (d *Deployer) deploy(ctx context.Context, s Spec, out io.Writer) error {
	w, err := d.workload(ctx, s)
	if err != nil {
		return err
	}
	prev, err := d.o.Store.ListProcesses(ctx, s.App)
	if err != nil {
		return fmt.Errorf("reading processes of %s: %w", s.App, err)
	}
	aside, err := d.moveAside(ctx, w)
	if err != nil {
		return err
	}
	p, err := d.start(ctx, w, out)
	if err == nil {
		err = d.switchTo(ctx, p, prev, out)
		if err != nil {
			d.remove(ctx, p.ContainerID)
		}
	}
	if err != nil {
		d.putBack(ctx, aside, w.name())
		return err
	}
	d.retire(ctx, p, out)
	return nil
}

// switchTo records p as the app's only process and makes the router reload.
// When the reload fails it puts the previous rows back.
func (d *Deployer) switchTo(ctx context.Context, p wharf.Process, prev []wharf.Process, out io.Writer) error {
	if err := d.o.Store.SetProcesses(ctx, p.App, []wharf.Process{p}); err != nil {
		return fmt.Errorf("recording processes of %s: %w", p.App, err)
	}
	if d.o.Routes != nil {
		if err := d.o.Routes.SyncRoutes(ctx); err != nil {
			err = fmt.Errorf("switching routes of %s to v%d: %w", p.App, p.Release, err)
			if rerr := d.o.Store.SetProcesses(context.WithoutCancel(ctx), p.App, prev); rerr != nil {
				err = errors.Join(err, fmt.Errorf("restoring processes of %s: %w", p.App, rerr))
			}
			return err
		}
	}
	fmt.Fprintf(out, "Routing to v%d\n", p.Release)
	return nil
}

// retire waits DrainDelay so requests in flight to the old containers can
// finish, then stops and removes every container of the app but keep. The
// route has switched by now, so it finishes even when ctx ends; what it
// cannot remove, the next Adopt will.
func (d *Deployer) retire(ctx context.Context, keep wharf.Process, out io.Writer) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.o.DrainDelay+d.o.StopGrace+time.Minute)
	defer cancel()
	old, err := d.eng.List(ctx, keep.App)
	if err != nil {
		d.warn(out, "could not list the old containers of %s: %v", keep.App, err)
		return
	}
	drained := false
	for _, in := range old {
		if in.ContainerID == keep.ContainerID {
			continue
		}
		if !drained {
			time.Sleep(d.o.DrainDelay)
			drained = true
		}
		fmt.Fprintf(out, "Stopping %s.%d of v%d\n", in.Type, in.Instance, in.Release)
		if err := d.eng.Remove(ctx, in.ContainerID, d.o.StopGrace); err != nil {
			d.warn(out, "could not remove %s: %v", in.ContainerName, err)
		}
	}
}

// remove force-removes a container, even when ctx has ended, and logs a
// failure: the next Adopt removes what is left.
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
