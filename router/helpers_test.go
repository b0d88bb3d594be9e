package router

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// echo is what echoBackend answers: who answered and what it was sent.
type echo struct {
	Name    string
	Host    string
	Method  string
	Path    string
	Header  http.Header
	BodyLen int
}

// echoBackend starts a real HTTP server on 127.0.0.1 that answers with an
// echo as JSON, and returns its host:port.
func echoBackend(t testing.TB, name string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echo{Name: name, Host: r.Host, Method: r.Method, Path: r.URL.Path, Header: r.Header, BodyLen: int(n)})
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// handlerBackend serves h on 127.0.0.1 and returns its host:port.
func handlerBackend(t testing.TB, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// deadAddr returns a 127.0.0.1 address nothing listens on.
func deadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// frontFunc starts a router serving routes and returns it and its URL.
type frontFunc func(t testing.TB, o Options, routes ...Route) (*Router, string)

// front starts the router as wharfd serves plain HTTP, on its event-loop
// front end (which hands some requests to net/http), and returns its URL.
func front(t testing.TB, o Options, routes ...Route) (*Router, string) {
	t.Helper()
	r := newTestRouter(o, routes)
	f, err := r.ListenFront("127.0.0.1:0", FrontOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := f.Shutdown(ctx); err != nil {
			t.Errorf("front shutdown: %v", err)
		}
		r.CloseIdleConnections()
	})
	return r, "http://" + f.Addr().String()
}

// frontNetHTTP starts the router behind net/http alone, as it serves
// HTTPS, and returns its URL.
func frontNetHTTP(t testing.TB, o Options, routes ...Route) (*Router, string) {
	t.Helper()
	r := newTestRouter(o, routes)
	srv := httptest.NewServer(r)
	t.Cleanup(func() {
		srv.Close()
		r.CloseIdleConnections()
	})
	return r, srv.URL
}

// bothFronts runs test against each way of serving the router.
func bothFronts(t *testing.T, test func(t *testing.T, front frontFunc)) {
	t.Run("loops", func(t *testing.T) { test(t, front) })
	t.Run("nethttp", func(t *testing.T) { test(t, frontNetHTTP) })
}

func newTestRouter(o Options, routes []Route) *Router {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := New(o)
	r.Update(routes)
	return r
}

type response struct {
	status  int
	header  http.Header
	trailer http.Header
	body    string
}

// do sends method to url with the given Host header and body.
func do(t testing.TB, method, url, host string, body io.Reader, header http.Header) response {
	t.Helper()
	r, err := fetch(method, url, host, body, header)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fetch is do for goroutines other than the test's.
func fetch(method, url, host string, body io.Reader, header http.Header) (response, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return response{}, err
	}
	req.Host = host
	for k, vs := range header {
		req.Header[k] = vs
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s (Host %s): %w", method, url, host, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s (Host %s): reading body: %w", method, url, host, err)
	}
	return response{status: res.StatusCode, header: res.Header, trailer: res.Trailer, body: string(b)}, nil
}

func get(t testing.TB, url, host string) response {
	t.Helper()
	return do(t, http.MethodGet, url, host, nil, nil)
}

// echoed decodes an echo answer, failing unless the status is 200.
func echoed(t testing.TB, r response) echo {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %q", r.status, r.body)
	}
	var e echo
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("decoding %q: %v", r.body, err)
	}
	return e
}

// rawBackend is a minimal keep-alive HTTP/1.1 server that answers every
// GET with "hello" without net/http, so benchmarks count only the router's
// allocations.
func rawBackend(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { serveRaw(c) })
		}
	})
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func serveRaw(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	res := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
	for {
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) <= 2 {
				break
			}
		}
		if _, err := c.Write(res); err != nil {
			return
		}
	}
}

// eventually polls cond until it holds or a few seconds pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hello(backends ...string) Route {
	return Route{App: "hello", Hosts: []string{"hello.localhost"}, Backends: backends}
}
