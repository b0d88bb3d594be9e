package main

import (
	"context"
	"log/slog"

	"github.com/wharfhq/wharf/router"
)

// accessLogger writes one structured line per routed request at debug
// level: the access log users read is stored per app (routerlogs.go,
// wharf logs --router), and a line on stderr per request would cost the
// router a write on every request.
func accessLogger(log *slog.Logger) func(router.AccessEntry) {
	l := log.With("component", "router")
	return func(e router.AccessEntry) {
		if l.Enabled(context.Background(), slog.LevelDebug) {
			l.Debug("request", "entry", e)
		}
	}
}
