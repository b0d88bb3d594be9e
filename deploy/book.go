package deploy

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf"
)

// book is the Deployer's memory of what the engine does not keep: the
// specs it converged lately and each slot's crashes and restarts. It is
// lost when the daemon restarts; the engine's labels are enough to adopt.
type book struct {
	mu    sync.Mutex
	last  map[string]remembered
	gone  map[string]time.Time // destroyed apps, when
	slots map[slot]*slotState
}

// remembered is a spec converged at a time.
type remembered struct {
	spec Spec
	at   time.Time
}

// slotState is what happened to one slot of a release.
type slotState struct {
	release  int
	restarts int // starts after the first
	crashes  []time.Time
	streak   int       // crashes since it last stayed up ResetAfter
	seenExit time.Time // FinishedAt of the last exit counted
	nextTry  time.Time
	upSince  time.Time
	starting bool
	crashed  bool // CrashLimit crashes within CrashWindow
	exitCode int
	oom      bool
	lastLog  string
}

// storeLag is how long the spec of a Deploy, Scale or Restart wins over
// the desired state read from the store, which callers update around the
// call.
const storeLag = 30 * time.Second

// crashLogLines is how much output ps shows of a crashed process.
const crashLogLines = 10

func (d *Deployer) remember(s Spec) {
	d.book.mu.Lock()
	defer d.book.mu.Unlock()
	if d.book.last == nil {
		d.book.last = map[string]remembered{}
	}
	d.book.last[s.App] = remembered{spec: s, at: time.Now()}
	delete(d.book.gone, s.App)
}

// forget drops what the book knows of app.
func (d *Deployer) forget(app string) {
	d.book.mu.Lock()
	defer d.book.mu.Unlock()
	delete(d.book.last, app)
	if d.book.gone == nil {
		d.book.gone = map[string]time.Time{}
	}
	d.book.gone[app] = time.Now()
	for k := range d.book.slots {
		if k.App == app {
			delete(d.book.slots, k)
		}
	}
}

// recent returns the spec converged for app within storeLag, if any.
func (d *Deployer) recent(app string, now time.Time) (Spec, bool) {
	d.book.mu.Lock()
	defer d.book.mu.Unlock()
	r, ok := d.book.last[app]
	if !ok || now.Sub(r.at) > storeLag {
		return Spec{}, false
	}
	return r.spec, true
}

// destroyed reports whether app was destroyed after t: a desired state
// read before then is stale for it.
func (d *Deployer) destroyed(app string, t time.Time) bool {
	d.book.mu.Lock()
	defer d.book.mu.Unlock()
	at, ok := d.book.gone[app]
	if ok && time.Since(at) > storeLag {
		delete(d.book.gone, app)
	}
	return ok && at.After(t)
}

// slotOf returns the state of k in release, a new one when the release
// changed. The caller holds book.mu.
func (d *Deployer) slotOf(k slot, release int) *slotState {
	if d.book.slots == nil {
		d.book.slots = map[slot]*slotState{}
	}
	st := d.book.slots[k]
	if st == nil || st.release != release {
		st = &slotState{release: release}
		d.book.slots[k] = st
	}
	return st
}

// withSlot runs f on k's state under the book's lock.
func (d *Deployer) withSlot(k slot, release int, f func(*slotState)) {
	d.book.mu.Lock()
	defer d.book.mu.Unlock()
	f(d.slotOf(k, release))
}

// backoff is the delay before restarting after streak consecutive crashes.
func (d *Deployer) backoff(streak int) time.Duration {
	b := d.o.BackoffBase
	for i := 1; i < streak && b < d.o.BackoffMax; i++ {
		b *= 2
	}
	return min(b, d.o.BackoffMax)
}

// crash counts an exit of a slot's container at finished and returns when
// to restart it.
func (d *Deployer) crash(st *slotState, in instance, logs string, now time.Time) {
	st.seenExit = in.FinishedAt
	st.streak++
	st.crashes = append(slices.DeleteFunc(st.crashes, func(t time.Time) bool { return now.Sub(t) > d.o.CrashWindow }), now)
	st.crashed = len(st.crashes) >= d.o.CrashLimit
	st.exitCode, st.oom = in.ExitCode, in.OOMKilled
	st.lastLog = strings.TrimRight(logs, "\n")
	st.nextTry = in.FinishedAt.Add(d.backoff(st.streak))
	if st.nextTry.Before(now) && st.streak > 1 {
		st.nextTry = now.Add(d.backoff(st.streak))
	}
}

// describe shows p as ps should: its restarts and, when it is not running,
// its last crash.
func (d *Deployer) describe(p *wharf.Process, running bool) {
	d.book.mu.Lock()
	defer d.book.mu.Unlock()
	st := d.book.slots[slot{p.App, p.Type, p.Instance}]
	if st == nil || st.release != p.Release {
		if running {
			p.State = stateRunning
		}
		return
	}
	p.Restarts = st.restarts
	switch {
	case running && !st.starting:
		p.State = stateRunning
	case st.crashed:
		p.State = "crashed" // also while it is retried
	case running:
		p.State = "starting"
	}
	if (!running || st.crashed) && !st.seenExit.IsZero() {
		p.ExitCode, p.OOMKilled, p.LastLog = st.exitCode, st.oom, st.lastLog
	}
}
