package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

const (
	probeInterval = 100 * time.Millisecond
	probeTimeout  = time.Second
)

// badStatus is a probe that got an answer of 500 or more; only those count
// as attempts, not refused connections while the app boots.
type badStatus string

func (b badStatus) Error() string { return string(b) }

// exitError says that the container stopped before it answered.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exited (%d)", e.code) }

// awaitHealthy polls http://addr<h.Path> until it answers with a status
// below 500, the container exits (exited fires), h.Attempts probes failed
// (when not 0), or ctx ends. A timeout error carries the last probe's
// failure.
func awaitHealthy(ctx context.Context, addr string, h HealthCheck, exited <-chan int) error {
	c := &http.Client{
		Timeout:       probeTimeout,
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer c.CloseIdleConnections()
	tick := time.NewTicker(probeInterval)
	defer tick.Stop()
	var last error
	answered := 0
	for {
		select {
		case code := <-exited:
			return exitError{code}
		default:
		}
		if last = probe(ctx, c, addr, h.Path); last == nil {
			return nil
		}
		var bad badStatus
		if errors.As(last, &bad) {
			answered++
		}
		if h.Attempts > 0 && answered >= h.Attempts {
			return fmt.Errorf("%d answers failed, the last: %w", answered, last)
		}
		select {
		case code := <-exited:
			return exitError{code}
		case <-ctx.Done():
			return fmt.Errorf("%w (last attempt: %v)", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// probe sends one GET path to addr. Connecting proves the port accepts;
// the status proves the app behind it answers.
func probe(ctx context.Context, c *http.Client, addr, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 500 {
		return badStatus(fmt.Sprintf("GET %s answered %s", path, resp.Status))
	}
	return nil
}
