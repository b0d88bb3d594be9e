package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/wharfhq/wharf"
)

// Swarm runs releases on a Docker Swarm instead of one engine: each process
// type of an app is a Swarm service wharf-<app>-<type> with the release's
// image, config, limits and labels, a health check for web, a restart
// policy, and an update config of start-first with automatic rollback. The
// engine's orchestrator does the rolling updates, rescheduling and
// restarts; Swarm watches the tasks, checks each new web task itself from
// this node, and records the healthy ones for the routers, which dial
// <node address>:<published port> (web services publish their port in host
// mode, so no ingress mesh sits in between). Images reach other nodes
// through a registry when SwarmOptions.Registry is set.
//
// The release phase, image garbage collection and volume removal run on
// the manager's own engine, as the single-host Deployer does them.
type Swarm struct {
	o     Options
	so    SwarmOptions
	cli   client.APIClient
	local *Deployer // this node's engine
	log   *slog.Logger
	locks appLocks
	feed  *taskFeed
	// pushed maps the references pushed to the registry to their image ids.
	pushed sync.Map
}

// SwarmOptions are what the Swarm backend adds to Options.
type SwarmOptions struct {
	// Registry is the host[:port] every node pulls release images from;
	// each release's image is pushed there. Empty: images stay on this
	// node, which is enough for a one-node swarm.
	Registry string
	// Network is the overlay network every service joins, so processes of
	// the installation reach each other by service name; default "wharf".
	Network string
	// Monitor is how long Swarm watches each updated task for a failure
	// before it goes on (and rolls back on one); default 3s.
	Monitor time.Duration
	// Poll is how often the tasks are read while an operation runs; at
	// rest, every second. Default 250ms.
	Poll time.Duration
}

// NewSwarm returns a Swarm backend driving the swarm manager o.Docker.
func NewSwarm(o Options, so SwarmOptions) *Swarm {
	o.setDefaults()
	if so.Network == "" {
		so.Network = "wharf"
	}
	if so.Monitor <= 0 {
		so.Monitor = 3 * time.Second
	}
	if so.Poll <= 0 {
		so.Poll = 250 * time.Millisecond
	}
	s := &Swarm{o: o, so: so, cli: o.Docker, local: New(o), log: o.Logger}
	s.feed = newTaskFeed(s)
	return s
}

// serviceName is the service of one process type of an app.
func serviceName(app, typ string) string { return "wharf-" + app + "-" + typ }

// maxServiceName is Swarm's limit on service names.
const maxServiceName = 63

// Deploy rolls s out: the image to the registry, the release phase, then
// every process type's service created or updated. Web services update
// start-first, one task at a time, each new task healthy before the one it
// replaces stops; a task that fails its health check rolls the service
// back to the running release, and Deploy fails (EINVALID) with the task's
// error and last log lines. Types no longer in the formation are removed.
func (w *Swarm) Deploy(ctx context.Context, s Spec, out io.Writer) error {
	return w.locked(ctx, "deploy", s, out, func(ctx context.Context, s Spec, out io.Writer) error {
		if err := w.local.releasePhase(ctx, s, out); err != nil {
			return err
		}
		return w.apply(ctx, "deploy", s, "", out)
	})
}

// Scale sets each process type's replicas to the formation's quantities.
// Before Swarm removes the tasks of the highest slots, they leave the
// routes and drain.
func (w *Swarm) Scale(ctx context.Context, s Spec, out io.Writer) error {
	return w.locked(ctx, "scale", s, out, func(ctx context.Context, s Spec, out io.Writer) error {
		return w.apply(ctx, "scale", s, "", out)
	})
}

// Restart replaces every task of s (of processType alone when not "") by a
// fresh one, as a rolling update.
func (w *Swarm) Restart(ctx context.Context, s Spec, processType string, out io.Writer) error {
	if _, ok := s.formation()[processType]; processType != "" && !ok {
		return wharf.Errorf(wharf.EINVALID, "%s has no process type %q", s.App, processType)
	}
	restart := processType
	if restart == "" {
		restart = "*"
	}
	return w.locked(ctx, "restart", s, out, func(ctx context.Context, s Spec, out io.Writer) error {
		return w.apply(ctx, "restart", s, restart, out)
	})
}

// locked validates s, pushes its image and runs fn under the app's lock,
// with the task feed polling fast meanwhile.
func (w *Swarm) locked(ctx context.Context, op string, s Spec, out io.Writer, fn func(context.Context, Spec, io.Writer) error) error {
	if out == nil {
		out = io.Discard
	}
	if err := s.validate(); err != nil {
		return err
	}
	for typ := range s.formation() {
		if n := serviceName(s.App, typ); len(n) > maxServiceName {
			return wharf.Errorf(wharf.EINVALID, "service name %s is longer than Swarm's %d characters: shorten the app or process type name", n, maxServiceName)
		}
	}
	unlock, err := w.locks.lock(ctx, s.App)
	if err != nil {
		return wharf.Errorf(wharf.EINVALID, "%s of %s v%d cancelled while waiting for another operation: %v", op, s.App, s.Release, err)
	}
	defer unlock()
	defer w.feed.busy(s.App)()
	if err := w.distribute(ctx, &s, out); err != nil {
		return err
	}
	return fn(ctx, s, out)
}

// apply converges the app's services to s; restart ("*" or a type) forces
// new tasks.
func (w *Swarm) apply(ctx context.Context, op string, s Spec, restart string, out io.Writer) error {
	if err := w.ensureNetwork(ctx); err != nil {
		return err
	}
	port, err := w.local.port(ctx, s)
	if err != nil {
		return err
	}
	existing, err := w.services(ctx, s.App)
	if err != nil {
		return err
	}
	f := s.formation()
	types := make([]string, 0, len(f))
	for typ := range f {
		types = append(types, typ)
	}
	slices.Sort(types)
	for _, typ := range types {
		force := restart == "*" || restart == typ
		if err := w.applyType(ctx, op, s, typ, port, existing[typ], force, out); err != nil {
			return err
		}
	}
	for typ, svc := range existing {
		if _, ok := f[typ]; !ok {
			fmt.Fprintf(out, "Removing %s (no longer in the formation)\n", svc.Spec.Name)
			if err := w.removeService(ctx, s.App, svc); err != nil {
				return err
			}
		}
	}
	w.local.remember(s)
	return w.feed.refresh(ctx)
}

// applyType creates or updates one process type's service and waits for it.
func (w *Swarm) applyType(ctx context.Context, op string, s Spec, typ string, port int, svc *swarm.Service, force bool, out io.Writer) error {
	spec := w.serviceSpec(s, typ, port)
	if svc == nil {
		if replicasOf(spec) == 0 {
			return nil
		}
		fmt.Fprintf(out, "Creating service %s (%d× v%d)\n", spec.Name, replicasOf(spec), s.Release)
		res, err := w.cli.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{QueryRegistry: false})
		if err != nil {
			return fmt.Errorf("creating service %s: %w", spec.Name, err)
		}
		if err := w.awaitTasks(ctx, s, typ, res.ID, out); err != nil {
			w.removeService(context.WithoutCancel(ctx), s.App, &swarm.Service{ID: res.ID, Spec: spec})
			return wharf.Errorf(wharf.EINVALID, "%s of %s v%d failed: %s", op, s.App, s.Release, wharf.ErrorMessage(err))
		}
		return nil
	}
	if owner := svc.Spec.Labels[wharf.LabelInstallation]; owner != w.o.Installation {
		return wharf.Errorf(wharf.EINVALID, "service %s belongs to another Wharf installation (%q)", spec.Name, owner)
	}
	spec.TaskTemplate.ForceUpdate = svc.Spec.TaskTemplate.ForceUpdate
	if force {
		spec.TaskTemplate.ForceUpdate++
	}
	if err := w.drainScaledAway(ctx, s.App, typ, svc, replicasOf(spec)); err != nil {
		return err
	}
	verb := "Updating"
	if op == "scale" {
		verb = "Scaling"
	}
	fmt.Fprintf(out, "%s service %s (%d× v%d)\n", verb, spec.Name, replicasOf(spec), s.Release)
	since := time.Now()
	res, err := w.cli.ServiceUpdate(ctx, svc.ID, svc.Version, spec, swarm.ServiceUpdateOptions{QueryRegistry: false})
	if err != nil {
		return fmt.Errorf("updating service %s: %w", spec.Name, err)
	}
	for _, warning := range res.Warnings {
		w.log.Warn("swarm", "service", spec.Name, "warning", warning)
	}
	if err := w.awaitUpdate(ctx, s, typ, svc.ID, since, force, out); err != nil {
		return wharf.Errorf(wharf.EINVALID, "%s of %s v%d failed and was rolled back: %s", op, s.App, s.Release, wharf.ErrorMessage(err))
	}
	return nil
}

// services returns the app's services by process type.
func (w *Swarm) services(ctx context.Context, app string) (map[string]*swarm.Service, error) {
	list, err := w.cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: w.filter(app)})
	if err != nil {
		return nil, fmt.Errorf("listing services of %s: %w", app, err)
	}
	out := map[string]*swarm.Service{}
	for i := range list {
		if list[i].Spec.Labels[wharf.LabelApp] == app {
			out[list[i].Spec.Labels[wharf.LabelProcess]] = &list[i]
		}
	}
	return out, nil
}

// filter selects this installation's objects, of app when not "".
func (w *Swarm) filter(app string) filters.Args {
	f := filters.NewArgs(filters.Arg("label", wharf.LabelManaged+"=true"))
	if w.o.Installation != "" {
		f.Add("label", wharf.LabelInstallation+"="+w.o.Installation)
	}
	if app != "" {
		f.Add("label", wharf.LabelApp+"="+app)
	}
	return f
}

// removeService takes a service's tasks out of the routes, lets requests
// in flight finish, then removes it.
func (w *Swarm) removeService(ctx context.Context, app string, svc *swarm.Service) error {
	w.feed.exclude(app, svc.Spec.Labels[wharf.LabelProcess], 0)
	if err := w.feed.refresh(ctx); err != nil {
		w.log.Warn("refreshing routes before removing a service", "service", svc.Spec.Name, "err", err)
	}
	time.Sleep(w.o.DrainDelay)
	if err := w.cli.ServiceRemove(ctx, svc.ID); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("removing service %s: %w", svc.Spec.Name, err)
	}
	return nil
}

// drainScaledAway takes the tasks a scale-down will remove (Swarm removes
// the highest slots) out of the routes and waits DrainDelay.
func (w *Swarm) drainScaledAway(ctx context.Context, app, typ string, svc *swarm.Service, replicas uint64) error {
	if svc.Spec.Mode.Replicated == nil || svc.Spec.Mode.Replicated.Replicas == nil || *svc.Spec.Mode.Replicated.Replicas <= replicas {
		return nil
	}
	w.feed.exclude(app, typ, int(replicas))
	if err := w.feed.refresh(ctx); err != nil {
		return err
	}
	time.Sleep(w.o.DrainDelay)
	return nil
}

// Destroy removes every service of the app, then its images on this node.
func (w *Swarm) Destroy(ctx context.Context, app string) error {
	if err := wharf.ValidateAppName(app); err != nil {
		return err
	}
	unlock, err := w.locks.lock(ctx, app)
	if err != nil {
		return fmt.Errorf("destroying %s: %w", app, err)
	}
	defer unlock()
	existing, err := w.services(ctx, app)
	if err != nil {
		return fmt.Errorf("destroying %s: %w", app, err)
	}
	var errs []error
	for _, svc := range existing {
		errs = append(errs, w.removeService(ctx, app, svc))
	}
	for _, svc := range existing {
		errs = append(errs, w.awaitContainersGone(ctx, svc.ID))
	}
	w.feed.forget(app)
	errs = append(errs, w.local.eng.RemoveImages(ctx, app, nil, true))
	w.local.forget(app)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("destroying %s: %w", app, err)
	}
	return nil
}

// awaitContainersGone waits (up to StopGrace and a minute) until this
// node has no container of a removed service, so its images can go.
func (w *Swarm) awaitContainersGone(ctx context.Context, serviceID string) error {
	f := filters.NewArgs(filters.Arg("label", "com.docker.swarm.service.id="+serviceID))
	deadline := time.Now().Add(w.o.StopGrace + time.Minute)
	for {
		list, err := w.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
		if err != nil {
			return fmt.Errorf("listing containers of service %s: %w", serviceID, err)
		}
		if len(list) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d containers of service %s are still there", len(list), serviceID)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// Adopt makes sure every app in current runs its release: services that
// are missing, or of another release, are deployed again, and services of
// apps not in current are removed. Running tasks of the right release are
// left alone, so a daemon restart changes nothing.
func (w *Swarm) Adopt(ctx context.Context, current map[string]Spec) error {
	var errs []error
	for app, s := range current {
		ok, err := w.runs(ctx, s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			w.log.Info("swarm: bringing services back to their release", "app", app, "release", s.Release)
			errs = append(errs, w.Deploy(ctx, s, io.Discard))
		}
	}
	errs = append(errs, w.removeOrphans(ctx, current))
	return errors.Join(errs...)
}

// runs reports whether every process type of s has its service at s's
// release with s's replicas.
func (w *Swarm) runs(ctx context.Context, s Spec) (bool, error) {
	existing, err := w.services(ctx, s.App)
	if err != nil {
		return false, err
	}
	for typ, p := range s.formation() {
		svc := existing[typ]
		if svc == nil {
			if p.Quantity > 0 {
				return false, nil
			}
			continue
		}
		if svc.Spec.Labels[wharf.LabelRelease] != fmt.Sprint(s.Release) || replicasOf(svc.Spec) != uint64(p.Quantity) {
			return false, nil
		}
	}
	return true, nil
}

// removeOrphans removes this installation's services of apps not in current.
func (w *Swarm) removeOrphans(ctx context.Context, current map[string]Spec) error {
	list, err := w.cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: w.filter("")})
	if err != nil {
		return fmt.Errorf("listing services: %w", err)
	}
	var errs []error
	for i := range list {
		app := list[i].Spec.Labels[wharf.LabelApp]
		if _, ok := current[app]; ok || app == "" {
			continue
		}
		errs = append(errs, w.removeOrphan(ctx, app, &list[i]))
	}
	return errors.Join(errs...)
}

// removeOrphan removes a service of an app not in the desired state,
// unless an operation holds the app or just deployed it (its release may
// not be in the store yet).
func (w *Swarm) removeOrphan(ctx context.Context, app string, svc *swarm.Service) error {
	yctx, unlock := w.locks.tryLockYielding(ctx, app)
	if yctx == nil {
		return nil
	}
	defer unlock()
	if _, ok := w.local.recent(app, time.Now()); ok {
		return nil
	}
	w.log.Info("swarm: removing the service of an app that is gone", "service", svc.Spec.Name)
	return w.removeService(yctx, app, svc)
}

// CollectGarbage removes the app's images on this node but those of keep.
func (w *Swarm) CollectGarbage(ctx context.Context, app string, keep []string) error {
	return w.local.CollectGarbage(ctx, app, keep)
}

// RemoveVolumes deletes the app's named volumes on this node. Volumes of
// the local driver live on each node; those on other nodes stay.
func (w *Swarm) RemoveVolumes(ctx context.Context, app string, names []string) error {
	return w.local.RemoveVolumes(ctx, app, names)
}

// ensureNetwork creates the installation's overlay network when missing.
func (w *Swarm) ensureNetwork(ctx context.Context) error {
	if _, err := w.cli.NetworkInspect(ctx, w.so.Network, networkInspectOptions); err == nil {
		return nil
	} else if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspecting network %s: %w", w.so.Network, err)
	}
	_, err := w.cli.NetworkCreate(ctx, w.so.Network, networkCreateOptions)
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("creating overlay network %s: %w", w.so.Network, err)
	}
	return nil
}
