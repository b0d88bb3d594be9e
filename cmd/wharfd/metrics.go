package main

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wharfhq/wharf/router"
	"github.com/wharfhq/wharf/store"
)

// routerMetrics are the router's Prometheus metrics. Labels are bounded:
// app (one value per app, "-" for unknown hosts) and status class.
type routerMetrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	lag      prometheus.Histogram
	apps     sync.Map // app → *appMetrics, so a request costs no label hashing

	notified   atomic.Int64 // unix nanos of the oldest notification not yet applied; 0 none
	lastUpdate atomic.Int64 // unix nanos of the last successful table update
}

// appMetrics are one app's resolved series.
type appMetrics struct {
	byClass [6]prometheus.Counter // index status/100; 0 for anything else
	latency prometheus.Observer
}

var statusClasses = [6]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

// newRouterMetrics reads the table's size from stats at each scrape.
func newRouterMetrics(stats func() router.Stats) *routerMetrics {
	m := &routerMetrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wharf_router_requests_total", Help: "Requests routed, by app and status class.",
		}, []string{"app", "class"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wharf_router_request_duration_seconds", Help: "Time from request to the end of the response, by app.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"app"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "wharf_router_route_update_lag_seconds", Help: "Time from a route change notification to the new table serving.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	m.reg.MustRegister(m.requests, m.latency, m.lag,
		gauge("wharf_router_routes", "Apps in the routing table.", func() float64 { return float64(stats().Routes) }),
		gauge("wharf_router_hosts", "Hosts in the routing table.", func() float64 { return float64(stats().Hosts) }),
		gauge("wharf_router_backends_up", "Healthy web backends in the routing table.", func() float64 { return float64(stats().Backends) }),
		gauge("wharf_router_table_age_seconds", "Seconds since the routing table was last loaded from Postgres.", m.tableAge),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe counts one finished request.
func (m *routerMetrics) observe(e router.AccessEntry) {
	app := e.App
	if app == "" {
		app = "-"
	}
	am, ok := m.apps.Load(app)
	if !ok {
		am, _ = m.apps.LoadOrStore(app, m.newApp(app))
	}
	a := am.(*appMetrics)
	class := e.Status / 100
	if class < 1 || class > 5 {
		class = 0
	}
	a.byClass[class].Inc()
	a.latency.Observe(e.Duration.Seconds())
}

func (m *routerMetrics) newApp(app string) *appMetrics {
	a := &appMetrics{latency: m.latency.WithLabelValues(app)}
	for i, c := range statusClasses {
		a.byClass[i] = m.requests.WithLabelValues(app, c)
	}
	return a
}

// notifiedAt records a route change notification (the oldest pending one
// counts).
func (m *routerMetrics) notifiedAt(t time.Time) {
	m.notified.CompareAndSwap(0, t.UnixNano())
}

func (m *routerMetrics) tableAge() float64 {
	last := m.lastUpdate.Load()
	if last == 0 {
		return 0
	}
	return time.Since(time.Unix(0, last)).Seconds()
}

// source wraps src so each successful load updates the table age and the
// update lag of a pending notification.
func (m *routerMetrics) source(src router.Source) router.Source {
	return router.SourceFunc(func(ctx context.Context) ([]router.Route, error) {
		pending := m.notified.Swap(0)
		routes, err := src.Routes(ctx)
		if err != nil {
			m.notified.CompareAndSwap(0, pending)
			return nil, err
		}
		now := time.Now()
		m.lastUpdate.Store(now.UnixNano())
		if pending != 0 {
			m.lag.Observe(now.Sub(time.Unix(0, pending)).Seconds())
		}
		return routes, nil
	})
}

// handler serves /metrics.
func (m *routerMetrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// routerObs is what the daemon adds to its router: the stored access log
// and the metrics, served at /metrics next to the API.
type routerObs struct {
	sink    *routerLogSink
	metrics *routerMetrics
}

func newRouterObs(db *store.DB, log *slog.Logger, stats func() router.Stats) *routerObs {
	return &routerObs{sink: newRouterLogSink(db, log), metrics: newRouterMetrics(stats)}
}

// record is a router.Options.AccessLog.
func (o *routerObs) record(e router.AccessEntry) {
	o.sink.record(e)
	o.metrics.observe(e)
}

// withMetrics serves GET /metrics (unauthenticated, like /healthz) and
// everything else with h.
func (o *routerObs) withMetrics(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", o.metrics.handler())
	mux.Handle("/", h)
	return mux
}
