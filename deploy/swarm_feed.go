package deploy

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/wharfhq/wharf"
)

// taskFeed turns the swarm's tasks into the process rows the routers read:
// a web task is routed once it runs (or is starting) with a published port
// and has answered a health probe from this node, and stops being routed
// as soon as Swarm wants it shut down or Wharf is about to remove it. It
// polls the manager every Poll while an operation runs, every second
// otherwise, and writes (and reloads the routes) only on change.
type taskFeed struct {
	w      *Swarm
	client *http.Client

	mu       sync.Mutex
	busyApps map[string]int
	healthy  map[string]bool // task id → passed its probe
	excluded map[string]bool // task ids about to be removed
	written  map[string][]wharf.Process
	nodes    map[string]swarm.Node
	nodesAt  time.Time
	last     []swarm.Task // of the last refresh
	refresh1 sync.Mutex   // one refresh at a time
}

func newTaskFeed(w *Swarm) *taskFeed {
	return &taskFeed{w: w, busyApps: map[string]int{}, healthy: map[string]bool{}, excluded: map[string]bool{},
		written: map[string][]wharf.Process{}, nodes: map[string]swarm.Node{},
		client: &http.Client{Timeout: probeTimeout, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// busy makes the feed poll fast until the returned func is called.
func (f *taskFeed) busy(app string) func() {
	f.mu.Lock()
	f.busyApps[app]++
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		if f.busyApps[app]--; f.busyApps[app] <= 0 {
			delete(f.busyApps, app)
		}
		f.mu.Unlock()
	}
}

// exclude takes the current tasks of app's type typ in slots above
// aboveSlot (all when 0) out of the routes for good.
func (f *taskFeed) exclude(app, typ string, aboveSlot int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.last {
		if labelOf(t, wharf.LabelApp) == app && labelOf(t, wharf.LabelProcess) == typ && t.Slot > aboveSlot {
			f.excluded[t.ID] = true
		}
	}
}

func (f *taskFeed) forget(app string) {
	f.mu.Lock()
	delete(f.written, app)
	f.mu.Unlock()
}

// run refreshes until ctx ends.
func (f *taskFeed) run(ctx context.Context) {
	for {
		if err := f.refresh(ctx); err != nil && ctx.Err() == nil {
			f.w.log.Warn("swarm: reading tasks", "err", err)
		}
		f.mu.Lock()
		wait := time.Second
		if len(f.busyApps) > 0 {
			wait = f.w.so.Poll
		}
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// refresh reads the tasks, probes new web tasks, and records the
// processes of every app whose rows changed, then reloads the routes.
func (f *taskFeed) refresh(ctx context.Context) error {
	f.refresh1.Lock()
	defer f.refresh1.Unlock()
	tasks, err := f.w.tasks(ctx, "", true)
	if err != nil {
		return err
	}
	nodes, err := f.nodeMap(ctx, tasks)
	if err != nil {
		return err
	}
	f.probe(ctx, tasks, nodes)
	byApp := f.processes(tasks, nodes)
	for app, ps := range byApp {
		// A task not yet given a container is nothing to record.
		byApp[app] = slices.DeleteFunc(ps, func(p wharf.Process) bool { return p.ContainerID == "" })
	}
	changed := false
	f.mu.Lock()
	f.last = tasks
	written := f.written
	f.mu.Unlock()
	apps := map[string]bool{}
	for app := range byApp {
		apps[app] = true
	}
	for app := range written {
		apps[app] = true
	}
	for app := range apps {
		ps := byApp[app]
		if prev, ok := written[app]; ok && sameRows(prev, ps) {
			continue
		}
		if err := f.w.o.Store.SetProcesses(ctx, app, ps); err != nil {
			return fmt.Errorf("recording processes of %s: %w", app, err)
		}
		f.mu.Lock()
		f.written[app] = ps
		if len(ps) == 0 {
			delete(f.written, app)
		}
		f.mu.Unlock()
		changed = true
	}
	f.prune(tasks)
	if changed && f.w.o.Routes != nil {
		return f.w.o.Routes.SyncRoutes(ctx)
	}
	return nil
}

// prune forgets probe results and exclusions of tasks that are gone.
func (f *taskFeed) prune(tasks []swarm.Task) {
	live := map[string]bool{}
	for _, t := range tasks {
		live[t.ID] = true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for id := range f.healthy {
		if !live[id] {
			delete(f.healthy, id)
		}
	}
	for id := range f.excluded {
		if !live[id] {
			delete(f.excluded, id)
		}
	}
}

// tasks lists this installation's tasks (of app when not ""), only those
// Swarm wants running when running is set.
func (w *Swarm) tasks(ctx context.Context, app string, running bool) ([]swarm.Task, error) {
	services, err := w.cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: w.filter(app)})
	if err != nil {
		return nil, fmt.Errorf("listing services: %w", err)
	}
	if len(services) == 0 {
		return nil, nil
	}
	f := filters.NewArgs()
	for _, s := range services {
		f.Add("service", s.ID)
	}
	if running {
		f.Add("desired-state", string(swarm.TaskStateRunning))
	}
	tasks, err := w.cli.TaskList(ctx, swarm.TaskListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("listing tasks: %w", err)
	}
	ours := map[string]bool{}
	for _, s := range services {
		ours[s.ID] = true
	}
	return slices.DeleteFunc(tasks, func(t swarm.Task) bool { return !ours[t.ServiceID] || t.Spec.ContainerSpec == nil }), nil
}

// nodeMap returns the swarm's nodes by id, read again every 2 s or when
// a task runs on one it does not know.
func (f *taskFeed) nodeMap(ctx context.Context, tasks []swarm.Task) (map[string]swarm.Node, error) {
	f.mu.Lock()
	stale := time.Since(f.nodesAt) > 2*time.Second
	for _, t := range tasks {
		if _, ok := f.nodes[t.NodeID]; t.NodeID != "" && !ok {
			stale = true
		}
	}
	nodes := f.nodes
	f.mu.Unlock()
	if !stale {
		return nodes, nil
	}
	list, err := f.w.cli.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	nodes = make(map[string]swarm.Node, len(list))
	for _, n := range list {
		nodes[n.ID] = n
	}
	f.mu.Lock()
	f.nodes, f.nodesAt = nodes, time.Now()
	f.mu.Unlock()
	return nodes, nil
}

// taskAddr is where a web task's published port is reached from here.
func taskAddr(t swarm.Task, nodes map[string]swarm.Node) string {
	n, ok := nodes[t.NodeID]
	// A task on a node that is down stays "running" for good: not routable.
	if !ok || n.Status.State != swarm.NodeStateReady || n.Status.Addr == "" || n.Status.Addr == "0.0.0.0" {
		return ""
	}
	port := publishedPort(t.Status.PortStatus.Ports, strings.Contains(n.Status.Addr, ":"))
	if port == 0 {
		return ""
	}
	return net.JoinHostPort(n.Status.Addr, strconv.Itoa(int(port)))
}

// publishedPort is the host port a task's web port is published on, for a
// node reached over IPv6 or IPv4. An engine with IPv6 binds a host-mode port
// twice, 0.0.0.0 first and then ::, and picks each port on its own: after a
// while of containers coming and going the two differ, and the second one
// may well be another container's IPv4 port. Swarm lists both, in that
// order, without their addresses.
func publishedPort(ports []swarm.PortConfig, ipv6 bool) uint32 {
	var tcp []uint32
	for _, p := range ports {
		if p.PublishedPort != 0 && p.Protocol == swarm.PortConfigProtocolTCP {
			tcp = append(tcp, p.PublishedPort)
		}
	}
	switch {
	case len(tcp) == 0:
		return 0
	case ipv6:
		return tcp[len(tcp)-1]
	default:
		return tcp[0]
	}
}

// routable reports whether t may get traffic once its probe passed.
func routable(t swarm.Task) bool {
	return t.DesiredState == swarm.TaskStateRunning &&
		(t.Status.State == swarm.TaskStateRunning || t.Status.State == swarm.TaskStateStarting) &&
		labelOf(t, wharf.LabelProcess) == "web"
}

// probe checks, at once, the routable web tasks not yet healthy.
func (f *taskFeed) probe(ctx context.Context, tasks []swarm.Task, nodes map[string]swarm.Node) {
	var wg sync.WaitGroup
	for _, t := range tasks {
		addr := taskAddr(t, nodes)
		f.mu.Lock()
		done := f.healthy[t.ID] || f.excluded[t.ID]
		f.mu.Unlock()
		if done || addr == "" || !routable(t) {
			continue
		}
		path := healthPathOf(t)
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, probeTimeout)
			defer cancel()
			if probe(pctx, f.client, addr, path) == nil {
				f.mu.Lock()
				f.healthy[t.ID] = true
				f.mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// processes turns tasks into each app's process rows.
func (f *taskFeed) processes(tasks []swarm.Task, nodes map[string]swarm.Node) map[string][]wharf.Process {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]wharf.Process{}
	for _, t := range tasks {
		if t.DesiredState != swarm.TaskStateRunning {
			continue
		}
		p := processOf(t, nodes)
		if p.Type == "web" {
			p.State = string(t.Status.State)
			if routable(t) && f.healthy[t.ID] && !f.excluded[t.ID] && p.Addr != "" {
				p.State = stateRunning
			} else if p.State == stateRunning {
				p.State = "starting" // running, not yet (or no longer) routed
			}
		}
		out[p.App] = append(out[p.App], p)
	}
	for _, ps := range out {
		slices.SortFunc(ps, compareProcesses)
	}
	return out
}

// processOf describes a task as a process.
func processOf(t swarm.Task, nodes map[string]swarm.Node) wharf.Process {
	rel, _ := strconv.Atoi(labelOf(t, wharf.LabelRelease))
	p := wharf.Process{App: labelOf(t, wharf.LabelApp), Release: rel, Type: labelOf(t, wharf.LabelProcess),
		Instance: t.Slot, State: string(t.Status.State), Addr: taskAddr(t, nodes), Node: nodes[t.NodeID].Description.Hostname}
	p.ContainerName = serviceName(p.App, p.Type) + "." + strconv.Itoa(t.Slot) + "." + t.ID
	if cs := t.Status.ContainerStatus; cs != nil {
		p.ContainerID = cs.ContainerID
		p.ExitCode = cs.ExitCode
	}
	if t.Status.State == swarm.TaskStateRunning {
		p.StartedAt = t.Status.Timestamp
	}
	if t.Status.Err != "" {
		p.LastLog = t.Status.Err
	}
	return p
}

func labelOf(t swarm.Task, key string) string {
	if t.Spec.ContainerSpec == nil {
		return ""
	}
	return t.Spec.ContainerSpec.Labels[key]
}

// healthPathOf reads the path the task's own health check asks for.
func healthPathOf(t swarm.Task) string {
	for _, e := range t.Spec.ContainerSpec.Env {
		if v, ok := cutPrefix(e, healthPathEnv+"="); ok {
			return v
		}
	}
	return "/"
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}

// healthPathEnv carries the health check path in a web task's
// environment, so the probe from here asks what the check inside asks.
const healthPathEnv = "WHARF_HEALTH_PATH"

// Processes returns the app's tasks that Swarm wants running, with the node
// each runs on, plus the last failed task of each slot when its
// replacement is not running yet.
func (w *Swarm) Processes(ctx context.Context, app string) ([]wharf.Process, error) {
	if err := wharf.ValidateAppName(app); err != nil {
		return nil, err
	}
	tasks, err := w.tasks(ctx, app, false)
	if err != nil {
		return nil, fmt.Errorf("listing processes of %s: %w", app, err)
	}
	nodes, err := w.feed.nodeMap(ctx, tasks)
	if err != nil {
		return nil, err
	}
	rows := w.feed.processes(tasks, nodes)[app]
	restarts := map[slot]int{}
	for _, t := range tasks {
		if t.DesiredState != swarm.TaskStateRunning && t.Status.State == swarm.TaskStateFailed {
			restarts[slot{app, labelOf(t, wharf.LabelProcess), t.Slot}]++
		}
	}
	for i := range rows {
		rows[i].Restarts = restarts[slot{app, rows[i].Type, rows[i].Instance}]
	}
	return rows, nil
}

// awaitTasks waits until a new service runs its replicas of s's release,
// web ones routed; it fails when tasks keep failing or the health timeout
// passes.
func (w *Swarm) awaitTasks(ctx context.Context, s Spec, typ, serviceID string, out interface{ Write([]byte) (int, error) }) error {
	want := s.formation()[typ].Quantity
	deadline := time.Now().Add(w.local.health(s.Health).Timeout + 30*time.Second)
	for {
		if err := w.feed.refresh(ctx); err != nil {
			return err
		}
		ready, failed, err := w.count(ctx, s, typ, serviceID)
		if err != nil {
			return err
		}
		switch {
		case ready >= want:
			fmt.Fprintf(out, "%s: %d of %d running\n", serviceName(s.App, typ), ready, want)
			return nil
		case failed >= healthRetries:
			return w.failure(ctx, s, typ, serviceID, "its tasks keep failing")
		case time.Now().After(deadline):
			return w.failure(ctx, s, typ, serviceID, "no task became healthy in time")
		}
		if err := sleep(ctx, w.so.Poll); err != nil {
			return err
		}
	}
}

// count returns the ready tasks of s's release of a service (running, and
// routed for web) and the failed ones.
func (w *Swarm) count(ctx context.Context, s Spec, typ, serviceID string) (ready, failed int, err error) {
	tasks, err := w.cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", serviceID))})
	if err != nil {
		return 0, 0, fmt.Errorf("listing tasks of %s: %w", serviceName(s.App, typ), err)
	}
	rel := strconv.Itoa(s.Release)
	w.feed.mu.Lock()
	defer w.feed.mu.Unlock()
	for _, t := range tasks {
		if labelOf(t, wharf.LabelRelease) != rel {
			continue
		}
		switch {
		case t.Status.State == swarm.TaskStateFailed || t.Status.State == swarm.TaskStateRejected:
			failed++
		case t.DesiredState != swarm.TaskStateRunning:
		case typ == "web" && w.feed.healthy[t.ID] && routable(t):
			ready++
		case typ != "web" && t.Status.State == swarm.TaskStateRunning:
			ready++
		}
	}
	return ready, failed, nil
}

// awaitUpdate waits for a service update started at since to complete
// and its new web tasks to be routed. A rollback or pause is the error.
// forced says the update replaces tasks of the same release (a restart, a
// drain), so it is done only once Swarm reports it completed.
func (w *Swarm) awaitUpdate(ctx context.Context, s Spec, typ, serviceID string, since time.Time, forced bool, out interface{ Write([]byte) (int, error) }) error {
	want := s.formation()[typ].Quantity
	perTask := w.local.health(s.Health).Timeout + w.so.Monitor + 10*time.Second
	deadline := time.Now().Add(time.Duration(max(want, 1))*perTask + 30*time.Second)
	for {
		if err := w.feed.refresh(ctx); err != nil {
			return err
		}
		svc, _, err := w.cli.ServiceInspectWithRaw(ctx, serviceID, swarm.ServiceInspectOptions{})
		if err != nil {
			return fmt.Errorf("inspecting service %s: %w", serviceName(s.App, typ), err)
		}
		state, msg := updateState(svc, since)
		switch state {
		case swarm.UpdateStateRollbackStarted, swarm.UpdateStateRollbackCompleted, swarm.UpdateStateRollbackPaused, swarm.UpdateStatePaused:
			return w.failure(ctx, s, typ, serviceID, msg)
		case swarm.UpdateStateCompleted, "":
			if state == "" && forced {
				break // Swarm has not taken the update up yet
			}
			ready, _, err := w.count(ctx, s, typ, serviceID)
			if err != nil {
				return err
			}
			if ready >= want {
				fmt.Fprintf(out, "%s: %d of %d running\n", serviceName(s.App, typ), ready, want)
				return nil
			}
		}
		if time.Now().After(deadline) {
			return w.failure(ctx, s, typ, serviceID, "the update did not finish in time")
		}
		if err := sleep(ctx, w.so.Poll); err != nil {
			return err
		}
	}
}

// updateState is the state of the update started at since; "" when Swarm
// reports none since then (the spec asked for no new tasks).
func updateState(svc swarm.Service, since time.Time) (swarm.UpdateState, string) {
	u := svc.UpdateStatus
	if u == nil || u.StartedAt == nil || u.StartedAt.Before(since.Add(-time.Second)) {
		return "", ""
	}
	return u.State, u.Message
}

// failure builds the error of a failed rollout: why, the last failed task
// of the release and its last log lines.
func (w *Swarm) failure(ctx context.Context, s Spec, typ, serviceID, why string) error {
	tasks, _ := w.cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", serviceID))})
	rel := strconv.Itoa(s.Release)
	var last *swarm.Task
	for i, t := range tasks {
		if labelOf(t, wharf.LabelRelease) == rel && (last == nil || t.Status.Timestamp.After(last.Status.Timestamp)) &&
			(t.Status.Err != "" || t.Status.State == swarm.TaskStateFailed) {
			last = &tasks[i]
		}
	}
	msg := fmt.Sprintf("%s v%d: %s", serviceName(s.App, typ), s.Release, why)
	if last == nil {
		return fmt.Errorf("%s", msg)
	}
	msg += fmt.Sprintf("; task %s.%d: %s", typ, last.Slot, cmp.Or(last.Status.Err, string(last.Status.State)))
	return fmt.Errorf("%s", withLogs(msg, w.taskLogs(ctx, last.ID), false))
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
