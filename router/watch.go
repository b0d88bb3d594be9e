package router

import (
	"context"
	"time"
)

// Watch keeps the table current until ctx ends: it syncs from src at once,
// on every value from changes (bursts are coalesced) and every resync
// (which heals lost notifications; 0 disables it). Errors are logged and
// the last good table keeps serving. changes may be nil.
func (r *Router) Watch(ctx context.Context, src Source, changes <-chan struct{}, resync time.Duration) {
	var tick <-chan time.Time
	if resync > 0 {
		t := time.NewTicker(resync)
		defer t.Stop()
		tick = t.C
	}
	r.syncLogged(ctx, src)
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changes:
			if !ok {
				changes = nil // closed: rely on resync alone
				continue
			}
			drain(changes)
		case <-tick:
		}
		r.syncLogged(ctx, src)
	}
}

func (r *Router) syncLogged(ctx context.Context, src Source) {
	if err := r.Sync(ctx, src); err != nil && ctx.Err() == nil {
		r.log.Warn("router: keeping the previous routing table", "err", err, "routes", r.Len())
	}
}

// drain empties whatever notifications are already queued, so a burst of
// changes costs one sync.
func drain(changes <-chan struct{}) {
	for {
		select {
		case _, ok := <-changes:
			if !ok {
				return
			}
		default:
			return
		}
	}
}
