package deploy

import (
	"context"
	"sync"
)

// appLocks serialises the work on each app: one deploy, adopt or destroy at
// a time per app, while different apps proceed in parallel.
type appLocks struct {
	mu    sync.Mutex
	slots map[string]chan struct{}
}

// lock waits for app's slot or for ctx to end, and returns the unlock.
func (l *appLocks) lock(ctx context.Context, app string) (func(), error) {
	slot := l.slot(app)
	select {
	case slot <- struct{}{}:
		return func() { <-slot }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// tryLock takes app's slot when it is free, and returns the unlock, or nil
// when another operation holds it.
func (l *appLocks) tryLock(app string) func() {
	slot := l.slot(app)
	select {
	case slot <- struct{}{}:
		return func() { <-slot }
	default:
		return nil
	}
}

func (l *appLocks) slot(app string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.slots == nil {
		l.slots = make(map[string]chan struct{})
	}
	slot, ok := l.slots[app]
	if !ok {
		slot = make(chan struct{}, 1)
		l.slots[app] = slot
	}
	return slot
}
