package router

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Both request paths are tried: a bodyless GET takes the fast path, a
// POST with a body goes through ReverseProxy.
var paths = []struct{ name, method, body string }{
	{"fast path", "GET", ""},
	{"ReverseProxy", "POST", "payload"},
}

func bodyOf(s string) io.Reader {
	if s == "" {
		return nil
	}
	return strings.NewReader(s)
}

// accessLog collects access-log entries.
func accessLog() (*Options, chan AccessEntry) {
	entries := make(chan AccessEntry, 16)
	return &Options{AccessLog: func(e AccessEntry) { entries <- e }}, entries
}

func lastEntry(t *testing.T, entries chan AccessEntry) AccessEntry {
	t.Helper()
	select {
	case e := <-entries:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no access-log entry")
		return AccessEntry{}
	}
}

func TestPerAppBodyLimit(t *testing.T) {
	bothFronts(t, func(t *testing.T, front frontFunc) {
		var declaredHits atomic.Int32 // requests for /declared, which must never arrive
		backend := handlerBackend(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/declared" {
				declaredHits.Add(1)
			}
			n, err := io.Copy(io.Discard, r.Body)
			if err == nil {
				fmt.Fprint(w, n)
			}
		})
		big := Route{App: "big", Hosts: []string{"big.localhost"}, Backends: []string{backend}, MaxBodyBytes: 5000}
		r, url := front(t, Options{MaxBodyBytes: 1000}, hello(backend), big)
		send := func(host string, n int, chunked bool) response {
			var body io.Reader = strings.NewReader(strings.Repeat("x", n))
			if chunked {
				body = io.MultiReader(body) // no length: sent chunked
			}
			return do(t, "POST", url, host, body, nil)
		}
		// A declared length over the limit is refused before the backend
		// (a chunked body reaches it until the limit is crossed).
		if res := do(t, "POST", url+"/declared", "big.localhost", strings.NewReader(strings.Repeat("x", 9000)), nil); res.status != 413 {
			t.Errorf("big, 9000 declared bytes: %d, want 413", res.status)
		}
		if n := declaredHits.Load(); n != 0 {
			t.Errorf("a declared length over the app's limit reached the backend %d times", n)
		}
		for _, chunked := range []bool{false, true} {
			if res := send("big.localhost", 5000, chunked); res.status != 200 || res.body != "5000" {
				t.Errorf("big, 5000 bytes (chunked %v): %d %q, want its own limit to let them through", chunked, res.status, res.body)
			}
			if res := send("big.localhost", 5001, chunked); res.status != 413 || res.body != "413 Content Too Large: request bodies are limited to 5000 bytes\n" {
				t.Errorf("big, 5001 bytes (chunked %v): %d %q, want 413 naming its limit", chunked, res.status, res.body)
			}
			if res := send("hello.localhost", 1001, chunked); res.status != 413 || !strings.Contains(res.body, "limited to 1000 bytes") {
				t.Errorf("hello, 1001 bytes (chunked %v): %d %q, want the default's 413", chunked, res.status, res.body)
			}
		}

		big.MaxBodyBytes = 0 // reset: the router's default again
		r.Update([]Route{hello(backend), big})
		for _, chunked := range []bool{false, true} {
			if res := send("big.localhost", 3000, chunked); res.status != 413 || !strings.Contains(res.body, "limited to 1000 bytes") {
				t.Errorf("after the reset, 3000 bytes (chunked %v): %d %q, want the default's 413", chunked, res.status, res.body)
			}
		}
	})
}

// slowHead answers after delay, or gives up when the request is canceled.
func slowHead(delay time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(delay):
			fmt.Fprint(w, "late")
		case <-r.Context().Done():
		}
	}
}

func TestTimeoutSlowHeadIs504(t *testing.T) {
	bothFronts(t, func(t *testing.T, front frontFunc) {
		slow := handlerBackend(t, slowHead(2*time.Second))
		quick := handlerBackend(t, slowHead(50*time.Millisecond))
		o, entries := accessLog()
		o.Timeout = 300 * time.Millisecond // the default, for hello
		_, url := front(t, *o, hello(slow),
			Route{App: "own", Hosts: []string{"own.localhost"}, Backends: []string{slow}, Timeout: 200 * time.Millisecond},
			Route{App: "quick", Hosts: []string{"quick.localhost"}, Backends: []string{quick}, Timeout: 200 * time.Millisecond})
		for _, p := range paths {
			for host, want := range map[string]string{
				"hello.localhost": "504 Gateway Timeout: app hello did not answer within 300ms\n",
				"own.localhost":   "504 Gateway Timeout: app own did not answer within 200ms\n",
			} {
				start := time.Now()
				res := do(t, p.method, url, host, bodyOf(p.body), nil)
				took := time.Since(start)
				if res.status != http.StatusGatewayTimeout || res.body != want {
					t.Errorf("%s, %s: %d %q, want %q", p.name, host, res.status, res.body, want)
				}
				if took > 1500*time.Millisecond {
					t.Errorf("%s, %s: the 504 took %v", p.name, host, took)
				}
				if e := lastEntry(t, entries); e.Status != http.StatusGatewayTimeout || e.Backend != slow {
					t.Errorf("%s, %s: access log %+v, want status 504 from %s", p.name, host, e, slow)
				}
			}
			if res := do(t, p.method, url, "quick.localhost", bodyOf(p.body), nil); res.status != 200 || res.body != "late" {
				t.Errorf("%s: an answer within the timeout: %d %q", p.name, res.status, res.body)
			}
			lastEntry(t, entries)
		}
	})
}

func TestTimeoutBodyGapAborts(t *testing.T) {
	bothFronts(t, func(t *testing.T, front frontFunc) {
		backend := handlerBackend(t, func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			fmt.Fprint(w, "first part\n")
			w.(http.Flusher).Flush()
			select {
			case <-time.After(3 * time.Second):
				fmt.Fprint(w, "rest")
			case <-r.Context().Done():
			}
		})
		o, entries := accessLog()
		route := hello(backend)
		route.Timeout = 300 * time.Millisecond
		_, url := front(t, *o, route)
		for _, p := range paths {
			req, _ := http.NewRequest(p.method, url, bodyOf(p.body))
			req.Host = "hello.localhost"
			start := time.Now()
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			took := time.Since(start)
			if res.StatusCode != 200 || string(body) != "first part\n" || err == nil {
				t.Errorf("%s: %d %q, read error %v; want the first part, then the response cut short", p.name, res.StatusCode, body, err)
			}
			if took < 300*time.Millisecond || took > 2*time.Second {
				t.Errorf("%s: cut after %v, want about the timeout (300ms)", p.name, took)
			}
			if e := lastEntry(t, entries); e.Status != http.StatusGatewayTimeout {
				t.Errorf("%s: access log status %d, want 504", p.name, e.Status)
			}
		}
	})
}

func TestTimeoutEventStreamWithHeartbeatsLivesOn(t *testing.T) {
	bothFronts(t, func(t *testing.T, front frontFunc) {
		const beats = 12 // every 100 ms: 1.2 s, four times the timeout
		backend := handlerBackend(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			for i := range beats {
				fmt.Fprintf(w, "data: %d\n\n", i)
				w.(http.Flusher).Flush()
				select {
				case <-time.After(100 * time.Millisecond):
				case <-r.Context().Done():
					return
				}
			}
		})
		o, entries := accessLog()
		route := hello(backend)
		route.Timeout = 300 * time.Millisecond
		_, url := front(t, *o, route)
		for _, p := range paths {
			req, _ := http.NewRequest(p.method, url, bodyOf(p.body))
			req.Host = "hello.localhost"
			start := time.Now()
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			events := 0
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "data: ") {
					events++
				}
			}
			res.Body.Close()
			if events != beats || sc.Err() != nil {
				t.Errorf("%s: %d events, error %v; want all %d", p.name, events, sc.Err(), beats)
			}
			if took := time.Since(start); took < 4*route.Timeout {
				t.Errorf("%s: the stream lasted %v only", p.name, took)
			}
			if e := lastEntry(t, entries); e.Status != 200 {
				t.Errorf("%s: access log status %d, want 200", p.name, e.Status)
			}
		}
	})
}

func TestTimeoutDoesNotCountTheClient(t *testing.T) {
	bothFronts(t, func(t *testing.T, front frontFunc) {
		backend := handlerBackend(t, func(w http.ResponseWriter, r *http.Request) {
			n, _ := io.Copy(io.Discard, r.Body)
			fmt.Fprint(w, n)
		})
		route := hello(backend)
		route.Timeout = 200 * time.Millisecond
		_, url := front(t, Options{}, route)
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte("first half "))
			time.Sleep(3 * route.Timeout) // the client, not the app, is slow
			pw.Write([]byte("second half"))
			pw.Close()
		}()
		if res := do(t, "POST", url, "hello.localhost", pr, nil); res.status != 200 || res.body != "22" {
			t.Errorf("slow upload: %d %q, want 200 and all 22 bytes", res.status, res.body)
		}
	})
}

func TestTimeoutSparesUpgradedConnections(t *testing.T) {
	bothFronts(t, func(t *testing.T, front frontFunc) {
		backend := handlerBackend(t, func(w http.ResponseWriter, r *http.Request) {
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			brw.Flush()
			line, err := brw.ReadString('\n')
			if err == nil {
				brw.WriteString("echo: " + line)
				brw.Flush()
			}
		})
		route := hello(backend)
		route.Timeout = 200 * time.Millisecond
		_, url := front(t, Options{}, route)
		conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprint(conn, "GET /ws HTTP/1.1\r\nHost: hello.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		br := bufio.NewReader(conn)
		if res, err := http.ReadResponse(br, nil); err != nil || res.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %v %v", res, err)
		}
		time.Sleep(3 * route.Timeout) // idle, both ways
		fmt.Fprint(conn, "still there?\n")
		if got, err := br.ReadString('\n'); err != nil || got != "echo: still there?\n" {
			t.Errorf("after idling past the timeout: %q, %v", got, err)
		}
	})
}

// gatedBody is the request body the transport writes to the backend, with
// one of its reads held until release is closed: the first one, or the one
// after io.EOF (the transport reads once more to check that the body is
// not longer than its Content-Length).
type gatedBody struct {
	io.ReadCloser
	release  <-chan struct{}
	afterEOF bool // hold the read after io.EOF, not the first one
	sawEOF   bool
	reads    int
}

func (b *gatedBody) Read(p []byte) (int, error) {
	if b.afterEOF == b.sawEOF && (b.afterEOF || b.reads == 0) {
		<-b.release
	}
	b.reads++
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.sawEOF = true
	}
	return n, err
}

type gatedTransport struct {
	base     http.RoundTripper
	release  <-chan struct{}
	afterEOF bool
}

func (t gatedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body = &gatedBody{ReadCloser: req.Body, release: t.release, afterEOF: t.afterEOF}
	}
	return t.base.RoundTrip(req)
}

// The transport writes a request body on its own goroutine, and may still
// be at it when the backend's response head reaches the router: the router
// must not let net/http discard and close the client's body when it writes
// that head to the client (its default for a handler that is not full
// duplex), or the transport's next read of the body fails, the transport
// closes the backend connection and the response is cut short. The gate
// makes the late read certain: either the whole body is late, for a backend
// that answers before reading it, or only the transport's last read, which
// finds io.EOF after the body (the race that cut event streams on the
// ReverseProxy path after their first event, now and then).
func TestResponseHeadBeforeRequestBodyIsWritten(t *testing.T) {
	for _, tc := range []struct {
		name     string
		afterEOF bool
	}{
		{"whole body late", false},
		{"final read late", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bothFronts(t, func(t *testing.T, front frontFunc) {
				testResponseHeadBeforeRequestBody(t, front, tc.afterEOF)
			})
		})
	}
}

func testResponseHeadBeforeRequestBody(t *testing.T, front frontFunc, afterEOF bool) {
	release := make(chan struct{})
	var releaseOnce sync.Once
	open := func() { releaseOnce.Do(func() { close(release) }) }
	defer open()
	backend := handlerBackend(t, func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if !afterEOF {
			rc.EnableFullDuplex() // answers before it reads the body
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: 0\n\n")
		rc.Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		if afterEOF {
			time.Sleep(50 * time.Millisecond) // for the transport's final read to fail, if it does
			fmt.Fprint(w, "data: 1\n\n")
			return
		}
		body, err := io.ReadAll(r.Body)
		fmt.Fprintf(w, "data: %s %v\n\n", body, err)
	})
	o, entries := accessLog()
	o.Timeout = 5 * time.Second
	r, url := front(t, *o)
	r.proxy.Transport = gatedTransport{base: r.proxy.Transport, release: release, afterEOF: afterEOF}
	r.Update([]Route{hello(backend)}) // after: the table's atomic store orders the write before any request

	req, _ := http.NewRequest("POST", url, strings.NewReader("payload"))
	req.Host = "hello.localhost"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	if line, err := br.ReadString('\n'); line != "data: 0\n" || err != nil {
		t.Fatalf("first event: %q, %v", line, err)
	}
	open() // the head and the first event reached the client; now the held read
	want := "\ndata: payload <nil>\n\n"
	if afterEOF {
		want = "\ndata: 1\n\n"
	}
	if rest, err := io.ReadAll(br); string(rest) != want || err != nil {
		t.Errorf("after the held read: %q, error %v; want %q", rest, err, want)
	}
	if e := lastEntry(t, entries); e.Status != 200 {
		t.Errorf("access log status %d, want 200", e.Status)
	}
}
