package router

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeSource stands in for the daemon's store-backed source, which is
// being written elsewhere.
type fakeSource struct {
	mu     sync.Mutex
	routes []Route
	err    error
	calls  int
}

func (s *fakeSource) Routes(ctx context.Context) ([]Route, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return append([]Route(nil), s.routes...), s.err
}

func (s *fakeSource) set(routes []Route, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes, s.err = routes, err
}

func (s *fakeSource) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func TestWatch(t *testing.T) {
	src := &fakeSource{routes: []Route{hello(echoBackend(t, "hello"))}}
	r, url := front(t, Options{})
	changes := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		r.Watch(ctx, src, changes, time.Hour)
	}()
	defer func() {
		cancel()
		<-stopped
	}()

	eventually(t, "the initial sync", func() bool { return get(t, url, "hello.localhost").status == 200 })

	src.set(append(src.routes, Route{App: "world", Hosts: []string{"world.localhost"}, Backends: []string{echoBackend(t, "world")}}), nil)
	changes <- struct{}{}
	eventually(t, "the new route", func() bool { return get(t, url, "world.localhost").status == 200 })

	before := src.callCount()
	src.set(nil, errors.New("database is down"))
	changes <- struct{}{}
	eventually(t, "the failing sync", func() bool { return src.callCount() > before })
	for _, host := range []string{"hello.localhost", "world.localhost"} {
		if e := echoed(t, get(t, url, host)); e.Host != host {
			t.Errorf("%s answered for %s", e.Host, host)
		}
	}
	if r.Len() != 2 {
		t.Errorf("Len %d after a failed sync, want the old 2", r.Len())
	}
}

func TestWatchResyncHealsLostNotifications(t *testing.T) {
	src := &fakeSource{}
	r, url := front(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		r.Watch(ctx, src, nil, 10*time.Millisecond)
	}()
	src.set([]Route{hello(echoBackend(t, "hello"))}, nil) // no notification
	eventually(t, "the periodic resync", func() bool { return get(t, url, "hello.localhost").status == 200 })
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return after its context ended")
	}
}

func TestSyncErrorKeepsTable(t *testing.T) {
	r, url := front(t, Options{}, hello(echoBackend(t, "hello")))
	err := r.Sync(context.Background(), SourceFunc(func(context.Context) ([]Route, error) {
		return nil, errors.New("boom")
	}))
	if err == nil || err.Error() != "router: loading routes: boom" {
		t.Errorf("Sync error %v", err)
	}
	if res := get(t, url, "hello.localhost"); res.status != 200 {
		t.Errorf("status %d after a failed Sync, want the old table's 200", res.status)
	}
}
