package main

import (
	"fmt"
	"log/slog"
	"strconv"

	"github.com/docker/docker/client"

	"github.com/wharfhq/wharf/logs"
	"github.com/wharfhq/wharf/store"
)

// newLogCollector follows this installation's containers into the logs
// table, keeping cfg.LogLines lines per app.
func newLogCollector(cfg Config, docker client.APIClient, db *store.DB, installation string, log *slog.Logger) (*logs.Collector, error) {
	keep := 10000
	if cfg.LogLines != "" {
		n, err := strconv.Atoi(cfg.LogLines)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--log-lines must be a positive number, not %q", cfg.LogLines)
		}
		keep = n
	}
	return logs.New(logs.Options{Docker: docker, Store: db, Installation: installation, Keep: keep, Logger: log,
		Tasks: cfg.Scheduler == "swarm"}), nil
}
