package router

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A route's timeout bounds each wait for its backend: for the response
// head, then for each read of the response body. Time spent on the client
// (reading its request body, writing the response to it) never counts, so
// a slow client is not the app's fault, and a stream that sends something
// at least every timeout lives on. The fast path sets a read deadline
// before every read from the backend connection (deadlineReader); the
// ReverseProxy path runs a timer only while it waits (watchdog).

// errBackendTimeout is the cause of an exchange canceled by its watchdog.
var errBackendTimeout = errors.New("backend did not answer within the route's timeout")

// isTimeout reports whether err is a backend read deadline or the
// watchdog's cancellation.
func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, errBackendTimeout)
}

// deadlineReader is what a fast-path connection's bufio.Reader reads from:
// each read from the backend gets a deadline of timeout from now.
type deadlineReader struct {
	conn    net.Conn
	timeout time.Duration // the current exchange's route's; 0: none
	// interrupted is set, for good, before the client-gone watcher moves
	// the deadline into the past, so a read cannot move it back.
	interrupted atomic.Bool
}

func (r *deadlineReader) Read(p []byte) (int, error) {
	if r.timeout > 0 {
		if err := r.conn.SetReadDeadline(time.Now().Add(r.timeout)); err != nil {
			return 0, err
		}
	}
	// Checked after setting the deadline: an interrupt that comes later
	// moves the deadline after this read's.
	if r.interrupted.Load() {
		return 0, os.ErrDeadlineExceeded
	}
	return r.conn.Read(p)
}

// interrupt makes the connection's current and future I/O fail at once.
func (bc *backendConn) interrupt() {
	bc.rd.interrupted.Store(true)
	bc.conn.SetDeadline(longAgo)
}

// watchdog cancels a ReverseProxy exchange whose backend keeps the router
// waiting longer than the route's timeout.
type watchdog struct {
	mu    sync.Mutex
	timer *time.Timer
	d     time.Duration
	head  bool // the response head arrived, or the exchange ended
	fired atomic.Bool
	body  backendBody // the response body, once the head arrived
}

// startWatchdog returns a watchdog armed for the response head: after d
// without one, cancel is called.
func startWatchdog(d time.Duration, cancel context.CancelCauseFunc) *watchdog {
	w := &watchdog{d: d}
	w.timer = time.AfterFunc(d, func() {
		w.fired.Store(true)
		cancel(errBackendTimeout)
	})
	return w
}

// pauseForClient pauses w while the transport reads the client's request
// body, before the head arrived; it reports whether w was paused, and then
// resumeAfterClient must follow the read.
func (w *watchdog) pauseForClient() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer == nil || w.head {
		return false
	}
	w.timer.Stop()
	return true
}

func (w *watchdog) resumeAfterClient() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.head && !w.fired.Load() {
		w.timer.Reset(w.d)
	}
}

// headArrived stops the wait for the head and reports whether it came too late.
func (w *watchdog) headArrived() (late bool) {
	w.stop()
	return w.fired.Load()
}

// stop disarms w for good.
func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.head = true
	if w.timer != nil {
		w.timer.Stop()
	}
}

// watchBody returns rc with the watchdog running during each of its reads.
func (w *watchdog) watchBody(rc io.ReadCloser) io.ReadCloser {
	w.body = backendBody{rc: rc, wd: w}
	return &w.body
}

// backendBody is a response body on the ReverseProxy path: the watchdog
// runs during each read, from when the read starts.
type backendBody struct {
	rc       io.ReadCloser
	wd       *watchdog
	timedOut bool // a read failed because the watchdog fired
}

func (b *backendBody) Read(p []byte) (int, error) {
	if b.wd.fired.Load() {
		b.timedOut = true
		return 0, context.Canceled
	}
	b.wd.timer.Reset(b.wd.d)
	n, err := b.rc.Read(p)
	b.wd.timer.Stop()
	if err != nil && b.wd.fired.Load() {
		b.timedOut = true
		// The router logs the timeout itself; ReverseProxy does not log a
		// canceled copy a second time.
		return n, context.Canceled
	}
	return n, err
}

func (b *backendBody) Close() error { return b.rc.Close() }

// formatTimeout writes d as the CLI takes it: "30s", or "1.5s" and "200ms"
// for fractions.
func formatTimeout(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}
