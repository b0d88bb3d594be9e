package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/wharfhq/wharf"
)

// registryRef is the name nodes pull s's image by.
func (w *Swarm) registryRef(s Spec) string {
	return w.so.Registry + "/wharf/" + s.App + ":v" + strconv.Itoa(s.Release)
}

// distribute pushes s's image to the registry, when there is one, and
// makes s name it there.
func (w *Swarm) distribute(ctx context.Context, s *Spec, out io.Writer) error {
	if w.so.Registry == "" {
		return nil
	}
	ref := w.registryRef(*s)
	if err := w.cli.ImageTag(ctx, s.Image, ref); err != nil {
		return wharf.Errorf(wharf.EINVALID, "tagging %s as %s: %v", s.Image, ref, err)
	}
	img, err := w.cli.ImageInspect(ctx, ref)
	if err != nil {
		return fmt.Errorf("inspecting %s: %w", ref, err)
	}
	if id, ok := w.pushed.Load(ref); ok && id == img.ID {
		s.Image = ref
		return nil
	}
	fmt.Fprintf(out, "Pushing %s\n", ref)
	begin := time.Now()
	rc, err := w.cli.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: "e30="}) // "{}": no credentials
	if err != nil {
		return wharf.Errorf(wharf.EINVALID, "pushing %s to the registry: %v", ref, err)
	}
	defer rc.Close()
	if err := pushErrors(rc); err != nil {
		return wharf.Errorf(wharf.EINVALID, "pushing %s to the registry: %v", ref, err)
	}
	fmt.Fprintf(out, "Pushed in %.1fs\n", time.Since(begin).Seconds())
	w.pushed.Store(ref, img.ID)
	s.Image = ref
	return nil
}

// pushErrors reads a push's progress stream and returns the error it ends
// with, if any.
func pushErrors(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
}

// taskLogs returns the last lines a task wrote, wherever it ran.
func (w *Swarm) taskLogs(ctx context.Context, taskID string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	rc, err := w.cli.TaskLogs(ctx, taskID, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(logLines)})
	if err != nil {
		return ""
	}
	defer rc.Close()
	var buf bytes.Buffer
	_, _ = stdcopy.StdCopy(&buf, &buf, rc)
	return buf.String()
}

// Reconcile keeps the routes current from the tasks (see taskFeed) and,
// every interval, the services matching desired: a service removed or
// scaled by hand comes back to the app's release and formation, services
// of apps not in desired are removed, and failed tasks are reported to
// OnCrash. Swarm itself restarts and reschedules tasks.
func (w *Swarm) Reconcile(ctx context.Context, desired func(context.Context) (map[string]Spec, error), every time.Duration) {
	if every <= 0 {
		every = 5 * time.Second
	}
	var wg sync.WaitGroup
	wg.Go(func() { w.feed.run(ctx) })
	defer wg.Wait()
	reported := map[string]bool{}
	for {
		if err := sleep(ctx, every); err != nil {
			return
		}
		read := time.Now()
		specs, err := desired(ctx)
		if err != nil {
			w.log.Warn("swarm: reading the desired state", "err", err)
			continue
		}
		for app, s := range specs {
			if !w.local.destroyed(app, read) {
				w.reconcileApp(ctx, app, s)
			}
		}
		if err := w.removeOrphans(ctx, specs); err != nil {
			w.log.Warn("swarm: removing orphans", "err", err)
		}
		w.reportCrashes(ctx, reported)
	}
}

// reconcileApp redeploys an app whose services drifted from s, unless an
// operation holds the app.
func (w *Swarm) reconcileApp(ctx context.Context, app string, s Spec) {
	if last, ok := w.local.recent(app, time.Now()); ok {
		s = last // the store may lag behind an operation that just finished
	}
	yctx, unlock := w.locks.tryLockYielding(ctx, app)
	if yctx == nil {
		return
	}
	defer unlock()
	ok, err := w.runs(yctx, s)
	if err != nil || ok {
		return
	}
	w.log.Info("swarm: services of an app drifted from its release; converging", "app", app, "release", s.Release)
	defer w.feed.busy(app)()
	err = w.distribute(yctx, &s, io.Discard)
	if err == nil {
		err = w.apply(yctx, "reconcile", s, "", io.Discard)
	}
	if err != nil && yctx.Err() == nil {
		w.log.Warn("swarm: converging", "app", app, "err", err)
	}
}

// reportCrashes tells OnCrash of each task that failed since the last round.
func (w *Swarm) reportCrashes(ctx context.Context, reported map[string]bool) {
	if w.o.OnCrash == nil {
		return
	}
	tasks, err := w.tasks(ctx, "", false)
	if err != nil {
		return
	}
	live := map[string]bool{}
	for _, t := range tasks {
		live[t.ID] = true
		if t.Status.State != swarm.TaskStateFailed || reported[t.ID] || time.Since(t.Status.Timestamp) > time.Minute {
			continue
		}
		reported[t.ID] = true
		rel, _ := strconv.Atoi(labelOf(t, wharf.LabelRelease))
		c := Crash{App: labelOf(t, wharf.LabelApp), Process: labelOf(t, wharf.LabelProcess) + "." + strconv.Itoa(t.Slot), Release: rel}
		if cs := t.Status.ContainerStatus; cs != nil {
			c.ExitCode = cs.ExitCode
		}
		w.o.OnCrash(c)
	}
	for id := range reported {
		if !live[id] {
			delete(reported, id)
		}
	}
}

// Nodes lists the swarm's nodes with the number of this installation's
// tasks running on each.
func (w *Swarm) Nodes(ctx context.Context) ([]wharf.Node, error) {
	list, err := w.cli.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	tasks, err := w.tasks(ctx, "", true)
	if err != nil {
		return nil, err
	}
	running := map[string]int{}
	for _, t := range tasks {
		if t.Status.State == swarm.TaskStateRunning {
			running[t.NodeID]++
		}
	}
	out := make([]wharf.Node, 0, len(list))
	for _, n := range list {
		out = append(out, nodeOf(n, running[n.ID]))
	}
	return out, nil
}

func nodeOf(n swarm.Node, tasks int) wharf.Node {
	out := wharf.Node{ID: n.ID, Hostname: n.Description.Hostname, Role: string(n.Spec.Role),
		State: string(n.Status.State), Availability: string(n.Spec.Availability), Addr: n.Status.Addr,
		Engine: n.Description.Engine.EngineVersion, Labels: n.Spec.Labels, Tasks: tasks}
	if n.ManagerStatus != nil {
		out.Leader = n.ManagerStatus.Leader
	}
	return out
}

// findNode returns the node whose id, id prefix or hostname is name.
func (w *Swarm) findNode(ctx context.Context, name string) (swarm.Node, error) {
	list, err := w.cli.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return swarm.Node{}, fmt.Errorf("listing nodes: %w", err)
	}
	var found []swarm.Node
	for _, n := range list {
		if n.ID == name || n.Description.Hostname == name || (len(name) >= 6 && strings.HasPrefix(n.ID, name)) {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 0:
		return swarm.Node{}, wharf.Errorf(wharf.ENOTFOUND, "no node %q in the swarm", name)
	case 1:
		return found[0], nil
	}
	return swarm.Node{}, wharf.Errorf(wharf.EINVALID, "%q names %d nodes; use the node id", name, len(found))
}

// DrainNode empties a node with no failed request: no new task may land on
// it (availability pause), every service of this installation with a task
// there gets a rolling, start-first update, so each replacement starts on
// another node and is healthy and routed before the task it replaces
// stops; then the node is set to drain, for whatever else runs there.
func (w *Swarm) DrainNode(ctx context.Context, name string, out io.Writer) error {
	n, err := w.findNode(ctx, name)
	if err != nil {
		return err
	}
	if err := w.setAvailability(ctx, n.ID, swarm.NodeAvailabilityPause); err != nil {
		return err
	}
	fmt.Fprintf(out, "Node %s paused: no new tasks go there\n", n.Description.Hostname)
	tasks, err := w.tasks(ctx, "", true)
	if err != nil {
		return err
	}
	moved := map[string]bool{}
	for _, t := range tasks {
		if t.NodeID != n.ID || moved[t.ServiceID] {
			continue
		}
		moved[t.ServiceID] = true
		if err := w.moveOff(ctx, t.ServiceID, labelOf(t, wharf.LabelApp), out); err != nil {
			return fmt.Errorf("draining %s: %w", n.Description.Hostname, err)
		}
	}
	if err := w.setAvailability(ctx, n.ID, swarm.NodeAvailabilityDrain); err != nil {
		return err
	}
	fmt.Fprintf(out, "Node %s drained\n", n.Description.Hostname)
	return w.feed.refresh(ctx)
}

// ActivateNode lets tasks be scheduled on a node again.
func (w *Swarm) ActivateNode(ctx context.Context, name string) error {
	n, err := w.findNode(ctx, name)
	if err != nil {
		return err
	}
	return w.setAvailability(ctx, n.ID, swarm.NodeAvailabilityActive)
}

func (w *Swarm) setAvailability(ctx context.Context, id string, a swarm.NodeAvailability) error {
	n, _, err := w.cli.NodeInspectWithRaw(ctx, id)
	if err != nil {
		return fmt.Errorf("inspecting node %s: %w", id, err)
	}
	n.Spec.Availability = a
	if err := w.cli.NodeUpdate(ctx, id, n.Version, n.Spec); err != nil {
		return fmt.Errorf("setting node %s to %s: %w", n.Description.Hostname, a, err)
	}
	return nil
}

// moveOff replaces every task of a service by a rolling update, under
// its app's lock.
func (w *Swarm) moveOff(ctx context.Context, serviceID, app string, out io.Writer) error {
	unlock, err := w.locks.lock(ctx, app)
	if err != nil {
		return err
	}
	defer unlock()
	defer w.feed.busy(app)()
	svc, _, err := w.cli.ServiceInspectWithRaw(ctx, serviceID, swarm.ServiceInspectOptions{})
	if err != nil {
		return fmt.Errorf("inspecting service %s: %w", serviceID, err)
	}
	spec := svc.Spec
	spec.TaskTemplate.ForceUpdate++
	fmt.Fprintf(out, "Moving the tasks of %s\n", spec.Name)
	since := time.Now()
	if _, err := w.cli.ServiceUpdate(ctx, svc.ID, svc.Version, spec, swarm.ServiceUpdateOptions{}); err != nil {
		return fmt.Errorf("updating service %s: %w", spec.Name, err)
	}
	rel, _ := strconv.Atoi(spec.Labels[wharf.LabelRelease])
	s := Spec{App: app, Release: rel, Processes: map[string]ProcessSpec{spec.Labels[wharf.LabelProcess]: {Quantity: int(replicasOf(spec))}}}
	return w.awaitUpdate(ctx, s, spec.Labels[wharf.LabelProcess], svc.ID, since, true, out)
}
