package deploy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

const (
	probeInterval = 100 * time.Millisecond
	probeTimeout  = time.Second
)

// exitError says that the container stopped before it answered.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exited (%d)", e.code) }

// awaitHealthy polls http://addr/ until it answers with a status below 500,
// the container exits (exited fires), or ctx ends. A timeout error carries
// the last probe's failure.
func awaitHealthy(ctx context.Context, addr string, exited <-chan int) error {
	c := &http.Client{
		Timeout:       probeTimeout,
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer c.CloseIdleConnections()
	tick := time.NewTicker(probeInterval)
	defer tick.Stop()
	var last error
	for {
		select {
		case code := <-exited:
			return exitError{code}
		default:
		}
		if last = probe(ctx, c, addr); last == nil {
			return nil
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

// probe sends one GET / to addr. Connecting proves the port accepts; the
// status proves the app behind it answers.
func probe(ctx context.Context, c *http.Client, addr string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
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
		return fmt.Errorf("GET / answered %s", resp.Status)
	}
	return nil
}
