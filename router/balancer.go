package router

import "sync/atomic"

// roundRobin spreads requests over a route's backends with one atomic
// counter; a route with a single backend never touches the counter.
type roundRobin struct {
	addrs []string
	next  atomic.Uint32
}

// pick returns the index of the backend for the next request. The route
// must have at least one backend.
func (b *roundRobin) pick() int {
	n := uint32(len(b.addrs))
	if n == 1 {
		return 0
	}
	return int((b.next.Add(1) - 1) % n)
}

// after returns the backend to retry on when backend i could not be
// dialled, and false when there is no other one.
func (b *roundRobin) after(i int) (int, bool) {
	if len(b.addrs) < 2 {
		return i, false
	}
	return (i + 1) % len(b.addrs), true
}
