// Package logs collects the output of an installation's app containers
// into the store, so an app's history outlives its containers: it follows
// every running managed container through the Docker API, tags each line
// with its app and process (web.1) and keeps a bounded number per app.
package logs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/store"
)

// Docker is the part of the Docker API the collector uses.
type Docker interface {
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
	ContainerLogs(ctx context.Context, id string, opts container.LogsOptions) (io.ReadCloser, error)
	Events(ctx context.Context, opts events.ListOptions) (<-chan events.Message, <-chan error)
	// For Options.Tasks.
	ServiceList(ctx context.Context, opts swarm.ServiceListOptions) ([]swarm.Service, error)
	TaskList(ctx context.Context, opts swarm.TaskListOptions) ([]swarm.Task, error)
	TaskLogs(ctx context.Context, taskID string, opts container.LogsOptions) (io.ReadCloser, error)
}

// Store keeps the lines.
type Store interface {
	AppendLogs(ctx context.Context, lines []store.LogLine) error
	TrimLogs(ctx context.Context, app string, keep int) error
	LastLogTime(ctx context.Context, container string) (time.Time, error)
}

// Options configure a Collector.
type Options struct {
	Docker       Docker
	Store        Store
	Installation string        // only containers labelled with it
	Keep         int           // lines kept per app; default 10000
	Interval     time.Duration // how often to look for new containers; default 1s
	Logger       *slog.Logger
	// Tasks follows the swarm tasks of this installation's services
	// through the manager (Docker is one), on whatever node they run,
	// instead of this engine's containers.
	Tasks bool
}

// Collector follows containers' logs into the store. Run it once.
type Collector struct {
	opt       Options
	lines     chan store.LogLine
	mu        sync.Mutex
	following map[string]bool // container ids being read
	read      map[string]bool // container ids read to their end
}

// New returns a Collector; nothing happens until Run.
func New(opt Options) *Collector {
	if opt.Keep <= 0 {
		opt.Keep = 10000
	}
	if opt.Interval <= 0 {
		opt.Interval = time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Collector{opt: opt, lines: make(chan store.LogLine, 1024), following: map[string]bool{}, read: map[string]bool{}}
}

// Run collects until ctx ends, then waits for its goroutines.
func (c *Collector) Run(ctx context.Context) {
	var followers sync.WaitGroup
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); c.write(ctx) }()
	t := time.NewTicker(c.opt.Interval)
	defer t.Stop()
	started := c.starts(ctx)
	if c.opt.Tasks {
		started = nil // task starts are found by scanning; container events are this node's alone
	}
	for {
		if c.opt.Tasks {
			c.scanTasks(ctx, &followers)
		} else {
			c.scan(ctx, &followers)
		}
		select {
		case <-ctx.Done():
			followers.Wait()
			<-writerDone
			return
		case e, ok := <-started:
			if !ok { // the event stream broke: scans still find everything
				started = nil
				continue
			}
			c.mu.Lock()
			c.startLocked(ctx, &followers, e.Actor.ID, e.Actor.Attributes)
			c.mu.Unlock()
		case <-t.C:
		}
	}
}

// starts streams the Docker Engine's start events of this installation's
// containers, so a process that dies at once is still read before it is
// removed. The channel closes when the stream fails.
func (c *Collector) starts(ctx context.Context) <-chan events.Message {
	f := filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)), filters.Arg("event", "start"),
		filters.Arg("label", wharf.LabelManaged+"=true"))
	if c.opt.Installation != "" {
		f.Add("label", wharf.LabelInstallation+"="+c.opt.Installation)
	}
	msgs, errs := c.opt.Docker.Events(ctx, events.ListOptions{Filters: f})
	out := make(chan events.Message)
	go func() {
		defer close(out)
		for {
			select {
			case m := <-msgs:
				select {
				case out <- m:
				case <-ctx.Done():
					return
				}
			case err := <-errs:
				if ctx.Err() == nil {
					c.opt.Logger.Warn("log collector: container events stopped", "err", err)
				}
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// scan starts following every running container not followed yet, and
// reads once the output of stopped ones never read (a process that crashed
// between two scans), so their last words are kept.
func (c *Collector) scan(ctx context.Context, wg *sync.WaitGroup) {
	f := filters.NewArgs(filters.Arg("label", wharf.LabelManaged+"=true"))
	if c.opt.Installation != "" {
		f.Add("label", wharf.LabelInstallation+"="+c.opt.Installation)
	}
	list, err := c.opt.Docker.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		if ctx.Err() == nil {
			c.opt.Logger.Warn("log collector: listing containers", "err", err)
		}
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	present := map[string]bool{}
	for _, s := range list {
		present[s.ID] = true
		if s.State == container.StateRunning || !c.read[s.ID] {
			c.startLocked(ctx, wg, s.ID, s.Labels)
		}
	}
	for id := range c.read { // forget removed containers
		if !present[id] {
			delete(c.read, id)
		}
	}
}

// scanTasks is scan for swarm tasks: each task with a container is a
// source, followed through the manager's task logs.
func (c *Collector) scanTasks(ctx context.Context, wg *sync.WaitGroup) {
	f := filters.NewArgs(filters.Arg("label", wharf.LabelManaged+"=true"))
	if c.opt.Installation != "" {
		f.Add("label", wharf.LabelInstallation+"="+c.opt.Installation)
	}
	services, err := c.opt.Docker.ServiceList(ctx, swarm.ServiceListOptions{Filters: f})
	if err != nil || len(services) == 0 {
		if err != nil && ctx.Err() == nil {
			c.opt.Logger.Warn("log collector: listing services", "err", err)
		}
		return
	}
	tf := filters.NewArgs()
	for _, s := range services {
		tf.Add("service", s.ID)
	}
	tasks, err := c.opt.Docker.TaskList(ctx, swarm.TaskListOptions{Filters: tf})
	if err != nil {
		if ctx.Err() == nil {
			c.opt.Logger.Warn("log collector: listing tasks", "err", err)
		}
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	present := map[string]bool{}
	for _, t := range tasks {
		if t.Status.ContainerStatus == nil || t.Status.ContainerStatus.ContainerID == "" || t.Spec.ContainerSpec == nil {
			continue
		}
		present[t.ID] = true
		running := t.Status.State == swarm.TaskStateRunning || t.Status.State == swarm.TaskStateStarting
		if running || !c.read[t.ID] {
			labels := t.Spec.ContainerSpec.Labels
			c.startSource(ctx, wg, source{id: t.ID, task: true, app: labels[wharf.LabelApp],
				process: labels[wharf.LabelProcess] + "." + strconv.Itoa(t.Slot)})
		}
	}
	for id := range c.read {
		if !present[id] {
			delete(c.read, id)
		}
	}
}

// instanceOf is a container's instance number: its label, or for a swarm
// task (whose labels are the same for every replica) the slot in its task
// name, "wharf-app-web.2.<task id>".
func instanceOf(labels map[string]string) string {
	if n := labels[wharf.LabelInstance]; n != "" {
		return n
	}
	if parts := strings.Split(labels["com.docker.swarm.task.name"], "."); len(parts) == 3 {
		return parts[1]
	}
	return "0"
}

// startLocked follows container id unless it is followed already. c.mu held.
func (c *Collector) startLocked(ctx context.Context, wg *sync.WaitGroup, id string, labels map[string]string) {
	c.startSource(ctx, wg, source{id: id, app: labels[wharf.LabelApp], process: labels[wharf.LabelProcess] + "." + instanceOf(labels)})
}

// startSource follows src unless it is followed already. c.mu held.
func (c *Collector) startSource(ctx context.Context, wg *sync.WaitGroup, src source) {
	if c.following[src.id] || ctx.Err() != nil {
		return
	}
	c.following[src.id] = true
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.follow(ctx, src)
		c.mu.Lock()
		delete(c.following, src.id)
		c.read[src.id] = true
		c.mu.Unlock()
	}()
}

// write stores lines in batches and trims the apps it wrote to.
func (c *Collector) write(ctx context.Context) {
	flush := time.NewTicker(200 * time.Millisecond)
	defer flush.Stop()
	var batch []store.LogLine
	touched := map[string]bool{}
	lastTrim := time.Now()
	for {
		select {
		case <-ctx.Done():
			c.store(context.WithoutCancel(ctx), batch)
			return
		case l := <-c.lines:
			batch = append(batch, l)
			touched[l.App] = true
			if len(batch) < 500 {
				continue
			}
		case <-flush.C:
		}
		c.store(ctx, batch)
		batch = batch[:0]
		if time.Since(lastTrim) > 5*time.Second {
			c.trim(ctx, touched)
			touched, lastTrim = map[string]bool{}, time.Now()
		}
	}
}

func (c *Collector) store(ctx context.Context, batch []store.LogLine) {
	if err := c.opt.Store.AppendLogs(ctx, batch); err != nil {
		c.opt.Logger.Warn("log collector: storing lines", "lines", len(batch), "err", err)
	}
}

func (c *Collector) trim(ctx context.Context, apps map[string]bool) {
	for app := range apps {
		if err := c.opt.Store.TrimLogs(ctx, app, c.opt.Keep); err != nil {
			c.opt.Logger.Warn("log collector: trimming", "app", app, "err", err)
		}
	}
}

// sinceArg formats t as the Docker API's "since" (seconds.nanoseconds).
func sinceArg(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.Add(time.Microsecond) // Postgres keeps microseconds; skip the stored line
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}
