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
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/store"
)

// Docker is the part of the Docker API the collector uses.
type Docker interface {
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
	ContainerLogs(ctx context.Context, id string, opts container.LogsOptions) (io.ReadCloser, error)
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
}

// Collector follows containers' logs into the store. Run it once.
type Collector struct {
	opt       Options
	lines     chan store.LogLine
	mu        sync.Mutex
	following map[string]bool // container ids
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
	return &Collector{opt: opt, lines: make(chan store.LogLine, 1024), following: map[string]bool{}}
}

// Run collects until ctx ends, then waits for its goroutines.
func (c *Collector) Run(ctx context.Context) {
	var followers sync.WaitGroup
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); c.write(ctx) }()
	t := time.NewTicker(c.opt.Interval)
	defer t.Stop()
	for {
		c.scan(ctx, &followers)
		select {
		case <-ctx.Done():
			followers.Wait()
			<-writerDone
			return
		case <-t.C:
		}
	}
}

// scan starts following every running container not followed yet.
func (c *Collector) scan(ctx context.Context, wg *sync.WaitGroup) {
	f := filters.NewArgs(filters.Arg("label", wharf.LabelManaged+"=true"), filters.Arg("status", "running"))
	if c.opt.Installation != "" {
		f.Add("label", wharf.LabelInstallation+"="+c.opt.Installation)
	}
	list, err := c.opt.Docker.ContainerList(ctx, container.ListOptions{Filters: f})
	if err != nil {
		if ctx.Err() == nil {
			c.opt.Logger.Warn("log collector: listing containers", "err", err)
		}
		return
	}
	for _, s := range list {
		c.mu.Lock()
		busy := c.following[s.ID]
		c.following[s.ID] = true
		c.mu.Unlock()
		if busy {
			continue
		}
		src := source{id: s.ID, app: s.Labels[wharf.LabelApp],
			process: s.Labels[wharf.LabelProcess] + "." + s.Labels[wharf.LabelInstance]}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.follow(ctx, src)
			c.mu.Lock()
			delete(c.following, src.id)
			c.mu.Unlock()
		}()
	}
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
