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

// Reconcile keeps the engine matching desired (app → the spec of its
// current, deployed release) until ctx ends, in rounds run on container
// events (die, oom, destroy of this installation's containers), every
// interval, and when a restart is due. A round over an app:
//   - restarts its exited processes after an exponential backoff
//     (BackoffBase doubled per crash, at most BackoffMax); one that crashes
//     CrashLimit times within CrashWindow shows "crashed" with its exit
//     code, OOM kill and last log lines, and is still retried;
//   - replaces a container removed by hand at once, in the same slot;
//   - removes containers of no current release or slot (orphans) and the
//     containers of apps not in desired;
//   - records the app's processes and reloads the routes when they change.
//
// An app that a Deploy, Scale, Restart or Destroy holds is skipped for the
// round. For storeLag after a Deploy, Scale or Restart its spec wins over
// desired, so a caller may update the store just after the call.
func (d *Deployer) Reconcile(ctx context.Context, desired func(context.Context) (map[string]Spec, error), every time.Duration) {
	if every <= 0 {
		every = 5 * time.Second
	}
	kick := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.watch(ctx, kick)
	}()
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-timer.C:
		}
		next := d.round(ctx, desired)
		wait := every
		if !next.IsZero() {
			wait = min(wait, max(time.Until(next), 10*time.Millisecond))
		}
		timer.Stop()
		timer.Reset(wait)
	}
}

// watch feeds kick from the engine's events, subscribing again after a
// failure (e.g. a restarted Docker daemon), until ctx ends.
func (d *Deployer) watch(ctx context.Context, kick chan<- struct{}) {
	for ctx.Err() == nil {
		if err := d.eng.Events(ctx, kick); err != nil {
			d.log.Warn("reconcile: watching events", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// round reconciles every app once, in parallel, and returns when the
// earliest restart is due (zero: none pending).
func (d *Deployer) round(ctx context.Context, desired func(context.Context) (map[string]Spec, error)) time.Time {
	read := time.Now()
	want, err := desired(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("reconcile: reading the desired state", "err", err)
		}
		return time.Time{}
	}
	byApp, err := d.listByApp(ctx)
	if err != nil {
		d.log.Warn("reconcile: listing containers", "err", err)
		return time.Time{}
	}
	apps := map[string]bool{}
	for app := range byApp {
		apps[app] = true
	}
	for app := range want {
		apps[app] = true
	}
	var (
		mu   sync.Mutex
		next time.Time
		wg   sync.WaitGroup
	)
	for app := range apps {
		s, ok := want[app]
		wg.Add(1)
		go func() {
			defer wg.Done()
			due := d.reconcileOne(ctx, app, s, ok, read)
			mu.Lock()
			defer mu.Unlock()
			if !due.IsZero() && (next.IsZero() || due.Before(next)) {
				next = due
			}
		}()
	}
	wg.Wait()
	return next
}

func (d *Deployer) listByApp(ctx context.Context) (map[string][]instance, error) {
	all, err := d.eng.List(ctx, "")
	if err != nil {
		return nil, err
	}
	byApp := map[string][]instance{}
	for _, in := range all {
		byApp[in.App] = append(byApp[in.App], in)
	}
	return byApp, nil
}

// reconcileOne runs a round over one app unless another operation holds
// it; s (when ok) is its desired spec as read at read. What the Deployer
// did since (a Deploy, Scale, Restart or Destroy) wins. Without a spec,
// the app's containers are removed.
func (d *Deployer) reconcileOne(ctx context.Context, app string, s Spec, ok bool, read time.Time) time.Time {
	ctx, unlock := d.locks.tryLockYielding(ctx, app)
	if unlock == nil {
		return time.Time{}
	}
	defer unlock()
	if r, recent := d.recent(app, time.Now()); recent {
		s, ok = r, true
	} else if d.destroyed(app, read) {
		return time.Time{}
	}
	log := d.log.With("app", app)
	if !ok {
		found, err := d.eng.List(ctx, app)
		if err != nil {
			log.Warn("reconcile: listing containers", "err", err)
			return time.Time{}
		}
		d.retire(ctx, found, logWriter{log})
		return time.Time{}
	}
	if err := s.validate(); err != nil {
		log.Warn("reconcile: invalid spec", "err", err)
		return time.Time{}
	}
	next, err := d.reconcileApp(ctx, s, false)
	if err != nil && ctx.Err() == nil {
		log.Warn("reconcile", "err", err)
	}
	return next
}

// reconcileApp brings one app to s; the caller holds its lock. With now,
// exited processes start at once and their exits are not counted as
// crashes (a daemon or host restart). It returns when the next restart is
// due.
func (d *Deployer) reconcileApp(ctx context.Context, s Spec, now bool) (time.Time, error) {
	ws, err := d.plan(ctx, s)
	if err != nil {
		return time.Time{}, err
	}
	found, err := d.eng.List(ctx, s.App)
	if err != nil {
		return time.Time{}, err
	}
	prev, err := d.o.Store.ListProcesses(ctx, s.App)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading processes of %s: %w", s.App, err)
	}
	var next time.Time
	rows := make([]wharf.Process, 0, len(ws))
	mine := map[string]bool{}
	for _, w := range ws {
		if ctx.Err() != nil {
			return next, ctx.Err() // another operation wants the app
		}
		in, due := d.heal(ctx, w, pick(w, found), now)
		if !due.IsZero() && (next.IsZero() || due.Before(next)) {
			next = due
		}
		if in.ContainerID != "" {
			mine[in.ContainerID] = true
			rows = append(rows, in.Process)
		}
	}
	slices.SortFunc(rows, compareProcesses)
	if !sameRows(prev, rows) {
		err = d.o.Store.SetProcesses(ctx, s.App, rows)
		if err == nil {
			err = d.syncRoutes(ctx)
		}
	}
	orphans := slices.DeleteFunc(slices.Clone(found), func(in instance) bool { return mine[in.ContainerID] })
	d.retire(ctx, orphans, logWriter{d.log.With("app", s.App, "reconcile", "orphan")})
	return next, err
}

// pick returns the container of w's slot and release, preferring a running
// one, then the canonically named one, or nil.
func pick(w workload, found []instance) *instance {
	var best *instance
	for i := range found {
		in := &found[i]
		if in.slot() != w.slot() || in.Release != w.Release {
			continue
		}
		if best == nil || (in.Running && !best.Running) ||
			(in.Running == best.Running && in.ContainerName == w.name()) {
			best = in
		}
	}
	return best
}

// heal makes w's slot run: found (its container, or nil) is kept when
// running, restarted when exited and its backoff is over, replaced when
// missing. It returns the container as it is now (empty when there is
// none) and when a pending restart is due.
func (d *Deployer) heal(ctx context.Context, w workload, found *instance, now bool) (instance, time.Time) {
	t := time.Now()
	if found != nil && found.Running {
		d.withSlot(w.slot(), w.Release, func(st *slotState) {
			if !st.upSince.IsZero() && t.Sub(st.upSince) >= d.o.ResetAfter {
				st.streak, st.crashed, st.upSince = 0, false, time.Time{}
			}
		})
		in := *found
		d.describe(&in.Process, true)
		return in, time.Time{}
	}
	if found != nil && found.State == "removing" {
		// Removed by hand: no crash; its replacement starts once the
		// name is free (the destroy event comes then).
		return instance{}, t.Add(250 * time.Millisecond)
	}
	var due time.Time
	if found != nil && !now {
		due = d.countExit(ctx, w, *found, t)
	}
	if found == nil {
		d.withSlot(w.slot(), w.Release, func(st *slotState) { due = st.nextTry })
	}
	if !now && due.After(t) {
		in := instance{}
		if found != nil {
			in = *found
			d.describe(&in.Process, false)
		}
		return in, due
	}
	return d.restart(ctx, w, found), time.Time{}
}

// Crash is one exit of a process that the reconcile loop counted as a crash.
type Crash struct {
	App          string
	Process      string // e.g. web.1
	Release      int
	ExitCode     int
	OOMKilled    bool
	CrashLooping bool          // it crashed CrashLimit times within CrashWindow
	RestartIn    time.Duration // when the loop will start it again
}

// countExit counts a new exit of found as a crash and returns when its
// restart is due.
func (d *Deployer) countExit(ctx context.Context, w workload, found instance, now time.Time) time.Time {
	var due time.Time
	d.book.mu.Lock()
	st := d.slotOf(w.slot(), w.Release)
	fresh := !found.FinishedAt.IsZero() && !found.FinishedAt.Equal(st.seenExit)
	due = st.nextTry
	d.book.mu.Unlock()
	if !fresh {
		return due
	}
	logs, err := d.eng.Logs(ctx, found.ContainerID, crashLogLines)
	if err != nil {
		d.log.Warn("reading logs of crashed container", "container", found.ContainerName, "err", err)
	}
	var crashed bool
	d.withSlot(w.slot(), w.Release, func(st *slotState) {
		d.crash(st, found, logs, now)
		due, crashed = st.nextTry, st.crashed
	})
	if d.o.OnCrash != nil {
		d.o.OnCrash(Crash{App: w.App, Process: fmt.Sprintf("%s.%d", w.Type, w.Instance), Release: w.Release,
			ExitCode: found.ExitCode, OOMKilled: found.OOMKilled, CrashLooping: crashed, RestartIn: time.Until(due)})
	}
	d.log.Warn("process exited", "app", w.App, "process", fmt.Sprintf("%s.%d", w.Type, w.Instance),
		"release", w.Release, "exit_code", found.ExitCode, "oom_killed", found.OOMKilled, "restart_in", time.Until(due).Round(time.Millisecond))
	return due
}

// restart starts found again, or a new container for w when found is nil,
// and waits until it is ready. A process that fails is left exited, its
// output kept, for the next round to count.
func (d *Deployer) restart(ctx context.Context, w workload, found *instance) instance {
	d.withSlot(w.slot(), w.Release, func(st *slotState) { st.starting = true })
	wctx, stopWaiting := context.WithCancel(ctx) // ends the engine's wait for an exit
	defer stopWaiting()
	var (
		id     string
		exited <-chan int
		err    error
	)
	if found != nil {
		id = found.ContainerID
		exited, err = d.eng.Start(wctx, id)
	} else {
		id, exited, err = d.eng.Run(wctx, w)
	}
	d.withSlot(w.slot(), w.Release, func(st *slotState) {
		if found != nil || st.streak > 0 {
			st.restarts++
		}
	})
	var in instance
	if err == nil {
		in, err = d.ready(ctx, w, id, exited, io.Discard)
	}
	d.withSlot(w.slot(), w.Release, func(st *slotState) { st.starting = false })
	if err == nil {
		d.withSlot(w.slot(), w.Release, func(st *slotState) { st.upSince = time.Now() })
		d.describe(&in.Process, true)
		d.log.Info("process started", "app", w.App, "process", fmt.Sprintf("%s.%d", w.Type, w.Instance), "release", w.Release)
		return in
	}
	return d.failedRestart(ctx, w, id, err)
}

// failedRestart leaves a process that did not become ready exited and
// returns it as it is now.
func (d *Deployer) failedRestart(ctx context.Context, w workload, id string, err error) instance {
	d.log.Warn("restarting process", "app", w.App, "process", fmt.Sprintf("%s.%d", w.Type, w.Instance), "err", err)
	if id == "" {
		d.withSlot(w.slot(), w.Release, func(st *slotState) {
			st.streak++
			st.nextTry = time.Now().Add(d.backoff(st.streak))
			st.lastLog = err.Error()
		})
		return instance{}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if serr := d.eng.Stop(ctx, id); serr != nil {
		d.log.Warn("stopping process", "container", id, "err", errors.Join(err, serr))
	}
	in, ierr := d.eng.Inspect(ctx, id)
	if ierr != nil {
		return instance{}
	}
	d.describe(&in.Process, false)
	return in
}
