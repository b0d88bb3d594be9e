package router

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
)

func benchTable(n int) (*table, []string) {
	routes := make([]Route, n)
	for i := range routes {
		routes[i] = Route{App: fmt.Sprintf("app%d", i), Hosts: []string{fmt.Sprintf("app%05d.localhost", i)}, Backends: []string{"127.0.0.1:1"}}
	}
	// Ten hot hosts, spread over the table, queried round and round: the
	// cost should not depend on how many other routes exist.
	hosts := make([]string, 10)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("app%05d.localhost:8080", i*n/len(hosts))
	}
	return buildTable(routes, slog.New(slog.DiscardHandler)), hosts
}

func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			tb, hosts := benchTable(n)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if tb.lookup(hosts[i%len(hosts)]) == nil {
					b.Fatal("miss")
				}
				i++
			}
		})
	}
}

// discardWriter is a reusable ResponseWriter, so the benchmark counts the
// router's allocations and not a recorder's.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

// BenchmarkServeHTTP proxies GETs to a raw keep-alive backend that
// allocates nothing, so allocs/op is the router's (ReverseProxy and
// http.Transport included) per request.
func BenchmarkServeHTTP(b *testing.B) {
	r := New(Options{Logger: slog.New(slog.DiscardHandler)})
	b.Cleanup(r.CloseIdleConnections)
	r.Update([]Route{hello(rawBackend(b))})
	req := httptest.NewRequest("GET", "http://hello.localhost/", nil)
	req.RemoteAddr = "127.0.0.1:5555"
	req.Header.Set("User-Agent", "bench")
	req.Header.Set("Accept", "*/*")
	w := &discardWriter{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		r.ServeHTTP(w, req)
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}

// BenchmarkEndToEnd measures a real client through a real server in front
// of the router, in parallel, for throughput comparisons.
func BenchmarkEndToEnd(b *testing.B) {
	_, url := front(b, Options{}, hello(rawBackend(b)))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(client.CloseIdleConnections)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			req.Host = "hello.localhost"
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	})
}

// BenchmarkTableMemory reports the heap a table holds per route (one
// host, one backend each), measured on 10,000 routes.
func BenchmarkTableMemory(b *testing.B) {
	const n = 10_000
	var perRoute float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		tb, _ := benchTable(n)
		runtime.GC()
		runtime.ReadMemStats(&after)
		perRoute = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(tb)
	}
	b.ReportMetric(perRoute, "B/route")
}

// BenchmarkFront measures one request through the event-loop front end on
// a keep-alive connection, with a client that allocates nothing, so
// allocs/op is the front end's per request.
func BenchmarkFront(b *testing.B) {
	_, addr := frontWith(b, FrontOptions{}, Options{Logger: slog.New(slog.DiscardHandler)}, hello(rawBackend(b)))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	req := []byte("GET / HTTP/1.1\r\nHost: hello.localhost\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		length := 0
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			if len(line) <= 2 {
				break
			}
			if n, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
				length, _ = strconv.Atoi(string(bytes.TrimSpace(n)))
			}
		}
		if _, err := br.Discard(length); err != nil {
			b.Fatal(err)
		}
	}
}
