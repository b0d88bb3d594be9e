package deploy

import (
	"context"
	"sync"
)

// appLocks serialises the work on each app: one deploy, scale, restart,
// adopt, destroy or reconcile round at a time per app, while different
// apps proceed in parallel. A reconcile round holds an app's lock
// yielding: an operation that wants the lock cancels it.
type appLocks struct {
	mu    sync.Mutex
	slots map[string]chan struct{}
	yield map[string]context.CancelFunc
}

// lock waits for app's slot or for ctx to end, and returns the unlock. It
// first cancels a yielding holder.
func (l *appLocks) lock(ctx context.Context, app string) (func(), error) {
	slot := l.slot(app)
	l.mu.Lock()
	if cancel := l.yield[app]; cancel != nil {
		cancel()
	}
	l.mu.Unlock()
	select {
	case slot <- struct{}{}:
		return func() { <-slot }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// tryLockYielding takes app's slot when it is free and returns a context,
// derived from ctx, that ends when another operation asks for the slot,
// and the unlock; or nil when the slot is taken.
func (l *appLocks) tryLockYielding(ctx context.Context, app string) (context.Context, func()) {
	slot := l.slot(app)
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case slot <- struct{}{}:
	default:
		return nil, nil
	}
	yctx, cancel := context.WithCancel(ctx)
	l.yield[app] = cancel
	return yctx, func() {
		l.mu.Lock()
		delete(l.yield, app)
		l.mu.Unlock()
		cancel()
		<-slot
	}
}

func (l *appLocks) slot(app string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.slots == nil {
		l.slots = make(map[string]chan struct{})
		l.yield = make(map[string]context.CancelFunc)
	}
	slot, ok := l.slots[app]
	if !ok {
		slot = make(chan struct{}, 1)
		l.slots[app] = slot
	}
	return slot
}
