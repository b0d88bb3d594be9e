package main

import (
	"log/slog"

	"github.com/wharfhq/wharf/router"
)

// accessLogger writes one structured line per routed request.
func accessLogger(log *slog.Logger) func(router.AccessEntry) {
	l := log.With("component", "router")
	return func(e router.AccessEntry) {
		l.Info("request", "entry", e)
	}
}
