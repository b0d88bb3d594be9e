package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/wharfhq/wharf/router"
	"github.com/wharfhq/wharf/store"
)

// Router log bounds: entries kept per app in Postgres, entries waiting for
// the next flush (more are dropped and counted), and the flush period.
const (
	routerLogsPerApp  = 1000
	routerLogQueue    = 8192
	routerLogInterval = 500 * time.Millisecond
)

// routerLogEntry is the JSON stored for one request; `wharf logs --router`
// reads these fields.
type routerLogEntry struct {
	Time       time.Time `json:"time"`
	App        string    `json:"app"`
	Host       string    `json:"host"`
	Method     string    `json:"method"`
	Path       string    `json:"path"`
	Status     int       `json:"status"`
	DurationMS float64   `json:"duration_ms"`
	Bytes      int64     `json:"bytes"`
	RequestID  string    `json:"request_id"`
	Backend    string    `json:"backend,omitempty"`
}

// routerLogSink stores the router's access log per app in Postgres, in
// batches off the request path; when the queue is full (Postgres slow or
// down) entries are dropped rather than slowing requests.
type routerLogSink struct {
	db    *store.DB
	log   *slog.Logger
	queue chan routerLogEntry
}

func newRouterLogSink(db *store.DB, log *slog.Logger) *routerLogSink {
	return &routerLogSink{db: db, log: log, queue: make(chan routerLogEntry, routerLogQueue)}
}

// record queues e; requests for no app are not stored.
func (s *routerLogSink) record(e router.AccessEntry) {
	if e.App == "" {
		return
	}
	entry := routerLogEntry{
		Time: time.Now().Add(-e.Duration).UTC(), App: e.App, Host: e.Host, Method: e.Method, Path: e.Path,
		Status: e.Status, DurationMS: float64(e.Duration.Microseconds()) / 1000, Bytes: e.Bytes,
		RequestID: e.RequestID, Backend: e.Backend,
	}
	select {
	case s.queue <- entry:
	default:
	}
}

// run flushes the queue every routerLogInterval until ctx ends, then once more.
func (s *routerLogSink) run(ctx context.Context) {
	t := time.NewTicker(routerLogInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			s.flush(flushCtx)
			cancel()
			return
		case <-t.C:
			s.flush(ctx)
		}
	}
}

func (s *routerLogSink) flush(ctx context.Context) {
	var batch []store.RouterLog
	for len(batch) < routerLogQueue {
		var e routerLogEntry
		select {
		case e = <-s.queue:
		default:
		}
		if e.App == "" {
			break
		}
		b, err := json.Marshal(e)
		if err != nil {
			continue
		}
		batch = append(batch, store.RouterLog{App: e.App, Entry: b})
	}
	if err := s.db.AddRouterLogs(ctx, batch, routerLogsPerApp); err != nil && ctx.Err() == nil {
		s.log.Warn("router: dropping access-log entries that could not be stored", "entries", len(batch), "err", err)
	}
}

// accessLogs calls every fn with each entry.
func accessLogs(fns ...func(router.AccessEntry)) func(router.AccessEntry) {
	return func(e router.AccessEntry) {
		for _, fn := range fns {
			fn(e)
		}
	}
}
