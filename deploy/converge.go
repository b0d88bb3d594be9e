package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/wharfhq/wharf"
)

// stateRunning is the state of a ready process, the only one the router
// sends traffic to.
const stateRunning = "running"

// changes is how the engine differs from a spec: the containers to keep,
// the processes to start and the containers to retire once the new ones
// are routed.
type changes struct {
	keep  []instance
	start []workload
	extra []instance
}

// diff matches the containers found with the planned processes. A running
// container of the spec's release in a planned slot is kept unless replace
// says otherwise (the canonically named one when there are two).
func diff(ws []workload, found []instance, replace func(instance) bool) changes {
	var c changes
	kept := map[string]bool{}
	for _, w := range ws {
		k := -1
		for i, in := range found {
			if in.slot() != w.slot() || in.Release != w.Release || !in.Running || kept[in.ContainerID] ||
				(w.Port > 0 && in.Addr == "") || replace(in) {
				continue
			}
			if k < 0 || in.ContainerName == w.name() {
				k = i
			}
		}
		if k < 0 {
			c.start = append(c.start, w)
			continue
		}
		kept[found[k].ContainerID] = true
		c.keep = append(c.keep, found[k])
	}
	for _, in := range found {
		if !kept[in.ContainerID] {
			c.extra = append(c.extra, in)
		}
	}
	return c
}

// converge makes s's app run exactly the planned processes of s: it starts
// the missing (or replaced) ones and waits until they are ready, records
// the new set and reloads the routes, then drains and stops the rest. When
// a start fails everything new is removed, the running containers and the
// store stay as they were, and the error (EINVALID) names the failing
// process and quotes its output. The caller holds the app's lock.
func (d *Deployer) converge(ctx context.Context, op string, s Spec, replace func(instance) bool, out io.Writer) error {
	ws, err := d.plan(ctx, s)
	if err != nil {
		return err
	}
	found, err := d.eng.List(ctx, s.App)
	if err != nil {
		return fmt.Errorf("listing containers of %s: %w", s.App, err)
	}
	c := diff(ws, found, replace)
	prev, err := d.o.Store.ListProcesses(ctx, s.App)
	if err != nil {
		return fmt.Errorf("reading processes of %s: %w", s.App, err)
	}
	aside, removed, err := d.freeNames(ctx, c.start, found)
	if err == nil {
		err = d.startNew(ctx, op, s, c, prev, out)
	}
	if err != nil {
		d.putBack(ctx, aside)
		return err
	}
	c.extra = slices.DeleteFunc(c.extra, func(in instance) bool { return removed[in.ContainerID] })
	d.retire(ctx, c.extra, out)
	d.remember(s)
	return nil
}

// startNew starts c.start, then routes c.keep and the started ones. On
// failure what it started is removed.
func (d *Deployer) startNew(ctx context.Context, op string, s Spec, c changes, prev []wharf.Process, out io.Writer) error {
	started, err := d.startAll(ctx, c.start, out)
	if err != nil {
		return wharf.Errorf(wharf.EINVALID, "%s of %s v%d failed: %s", op, s.App, s.Release, wharf.ErrorMessage(err))
	}
	procs := make([]wharf.Process, 0, len(c.keep)+len(started))
	for _, in := range c.keep {
		in.State = stateRunning
		procs = append(procs, in.Process)
	}
	procs = append(procs, started...)
	slices.SortFunc(procs, compareProcesses)
	if len(c.start) == 0 && len(c.extra) == 0 && sameRows(prev, procs) {
		return nil
	}
	if err := d.switchTo(ctx, s, procs, prev, out); err != nil {
		for _, p := range started {
			d.remove(ctx, p.ContainerID)
		}
		return err
	}
	return nil
}

// maxParallelStarts bounds the processes one operation starts at once.
const maxParallelStarts = 4

// startAll starts ws at once and waits until all are ready. When one fails
// the others are cancelled and everything started is removed; the error is
// the first failure's.
func (d *Deployer) startAll(ctx context.Context, ws []workload, out io.Writer) ([]wharf.Process, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out = &lockedWriter{w: out}
	procs := make([]wharf.Process, len(ws))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		slots = make(chan struct{}, maxParallelStarts)
	)
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			p, err := d.start(ctx, w, out)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
				cancel()
			}
			procs[i] = p
		}()
	}
	wg.Wait()
	if first == nil {
		return procs, nil
	}
	for _, p := range procs {
		if p.ContainerID != "" {
			d.remove(ctx, p.ContainerID)
		}
	}
	return nil, first
}

// lockedWriter serialises the progress lines of processes starting at once.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// switchTo records procs as the app's processes and makes the router
// reload. When the reload fails it puts the previous rows back.
func (d *Deployer) switchTo(ctx context.Context, s Spec, procs, prev []wharf.Process, out io.Writer) error {
	if err := d.o.Store.SetProcesses(ctx, s.App, procs); err != nil {
		return fmt.Errorf("recording processes of %s: %w", s.App, err)
	}
	if err := d.syncRoutes(ctx); err != nil {
		err = fmt.Errorf("switching routes of %s to v%d: %w", s.App, s.Release, err)
		if rerr := d.o.Store.SetProcesses(context.WithoutCancel(ctx), s.App, prev); rerr != nil {
			err = errors.Join(err, fmt.Errorf("restoring processes of %s: %w", s.App, rerr))
		}
		return err
	}
	fmt.Fprintf(out, "Routing to v%d\n", s.Release)
	return nil
}

func (d *Deployer) syncRoutes(ctx context.Context) error {
	if d.o.Routes == nil {
		return nil
	}
	return d.o.Routes.SyncRoutes(ctx)
}

// retire waits DrainDelay, when one of the containers is running, so that
// requests in flight to them finish, then stops and removes them. The
// route has switched by now, so it finishes even when ctx ends; what it
// cannot remove, the next reconcile round will.
func (d *Deployer) retire(ctx context.Context, old []instance, out io.Writer) {
	if len(old) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.o.DrainDelay+d.o.StopGrace+time.Minute)
	defer cancel()
	if slices.ContainsFunc(old, func(in instance) bool { return in.Running }) {
		time.Sleep(d.o.DrainDelay)
	}
	out = &lockedWriter{w: out}
	var wg sync.WaitGroup
	for _, in := range old {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fmt.Fprintf(out, "Stopping %s.%d of v%d\n", in.Type, in.Instance, in.Release)
			if err := d.eng.Remove(ctx, in.ContainerID, d.o.StopGrace); err != nil {
				d.warn(out, "could not remove %s: %v", in.ContainerName, err)
			}
		}()
	}
	wg.Wait()
}

// sameRows reports whether two process lists route and show alike.
func sameRows(a, b []wharf.Process) bool {
	return slices.EqualFunc(a, b, func(x, y wharf.Process) bool {
		return x.ContainerID == y.ContainerID && x.Addr == y.Addr && x.State == y.State &&
			x.Release == y.Release && x.Type == y.Type && x.Instance == y.Instance
	})
}
