package router

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestHostRouting(t *testing.T) {
	_, url := front(t, Options{}, hello(echoBackend(t, "hello")))
	for _, host := range []string{
		"hello.localhost", "HELLO.LocalHost", "hello.localhost:8080",
		"hello.localhost.", "Hello.Localhost.:80",
	} {
		e := echoed(t, get(t, url+"/path", host))
		if e.Name != "hello" || e.Host != host || e.Path != "/path" {
			t.Errorf("Host %q: answered by %q with Host %q path %q; want hello, the Host unchanged, /path", host, e.Name, e.Host, e.Path)
		}
	}
	for _, host := range []string{"other.localhost", "hello.localhost.evil", "xhello.localhost", "localhost"} {
		r := get(t, url, host)
		want := "404 Not Found: no app is served at " + normalizeHost(host) + "\n"
		if r.status != http.StatusNotFound || r.body != want {
			t.Errorf("Host %q: %d %q, want 404 %q", host, r.status, r.body, want)
		}
	}
}

func TestWildcardAndExact(t *testing.T) {
	_, url := front(t, Options{},
		Route{App: "wild", Hosts: []string{"*.example.com"}, Backends: []string{echoBackend(t, "wild")}},
		Route{App: "www", Hosts: []string{"WWW.example.com."}, Backends: []string{echoBackend(t, "www")}},
	)
	for host, want := range map[string]string{
		"a.example.com":   "wild",
		"B.Example.Com:1": "wild",
		"www.example.com": "www",
	} {
		if e := echoed(t, get(t, url, host)); e.Name != want {
			t.Errorf("Host %q went to %q, want %q", host, e.Name, want)
		}
	}
	for _, host := range []string{"a.b.example.com", "example.com", ".example.com"} {
		if r := get(t, url, host); r.status != http.StatusNotFound {
			t.Errorf("Host %q: status %d, want 404 (a wildcard matches one label)", host, r.status)
		}
	}
}

func TestNotFoundPageEscapesHost(t *testing.T) {
	_, url := front(t, Options{})
	r := get(t, url, "a&b'c.localhost")
	if want := "404 Not Found: no app is served at a&amp;b&#39;c.localhost\n"; r.body != want {
		t.Errorf("body %q, want %q", r.body, want)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestNoBackends(t *testing.T) {
	_, url := front(t, Options{}, hello())
	r := get(t, url, "hello.localhost")
	if want := "503 Service Unavailable: app hello has no running web process\n"; r.status != 503 || r.body != want {
		t.Errorf("got %d %q, want 503 %q", r.status, r.body, want)
	}
}

func TestRoundRobin(t *testing.T) {
	_, url := front(t, Options{}, hello(echoBackend(t, "a"), echoBackend(t, "b"), echoBackend(t, "c")))
	counts := map[string]int{}
	for range 30 {
		counts[echoed(t, get(t, url, "hello.localhost")).Name]++
	}
	if counts["a"] != 10 || counts["b"] != 10 || counts["c"] != 10 {
		t.Errorf("30 requests spread as %v, want 10 each", counts)
	}
}

func TestDeadBackendIsRetried(t *testing.T) {
	_, url := front(t, Options{}, hello(deadAddr(t), echoBackend(t, "alive")))
	for i := range 10 {
		if e := echoed(t, get(t, url, "hello.localhost")); e.Name != "alive" {
			t.Fatalf("request %d answered by %q", i, e.Name)
		}
		// A body that was not sent yet is retried with it intact.
		r := do(t, http.MethodPost, url, "hello.localhost", strings.NewReader("twelve bytes"), nil)
		if e := echoed(t, r); e.BodyLen != 12 {
			t.Fatalf("POST %d: backend got %d body bytes, want 12", i, e.BodyLen)
		}
		// So is a chunked one (unknown length).
		r = do(t, http.MethodPost, url, "hello.localhost", io.MultiReader(strings.NewReader("chunked")), nil)
		if e := echoed(t, r); e.BodyLen != 7 {
			t.Fatalf("chunked POST %d: backend got %d body bytes, want 7", i, e.BodyLen)
		}
	}
}

func TestAllBackendsDead(t *testing.T) {
	_, url := front(t, Options{}, hello(deadAddr(t), deadAddr(t)))
	r := get(t, url, "hello.localhost")
	if want := "503 Service Unavailable: no web process of app hello accepted the connection\n"; r.status != 503 || r.body != want {
		t.Errorf("got %d %q, want 503 %q", r.status, r.body, want)
	}
}

func TestBrokenBackendIs502(t *testing.T) {
	broken := handlerBackend(t, func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close() // hang up without answering
		}
	})
	_, url := front(t, Options{}, hello(broken))
	r := get(t, url, "hello.localhost")
	if want := "502 Bad Gateway: app hello did not answer properly\n"; r.status != 502 || r.body != want {
		t.Errorf("got %d %q, want 502 %q", r.status, r.body, want)
	}
}

func TestForwardedHeaders(t *testing.T) {
	spoofed := http.Header{
		"X-Forwarded-For":   {"6.6.6.6"},
		"X-Forwarded-Proto": {"https"},
		"X-Forwarded-Host":  {"evil.example"},
		"X-Forwarded-Port":  {"666"},
		"X-Real-Ip":         {"6.6.6.6"},
		"Forwarded":         {"for=6.6.6.6"},
	}
	backend := echoBackend(t, "hello")
	t.Run("untrusted peer", func(t *testing.T) {
		_, url := front(t, Options{}, hello(backend))
		h := echoed(t, do(t, "GET", url, "hello.localhost:8080", nil, spoofed)).Header
		want := map[string]string{
			"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "hello.localhost:8080",
			"X-Forwarded-Port": "8080", "X-Real-Ip": "127.0.0.1", "Forwarded": "",
		}
		checkHeaders(t, h, want)
	})
	t.Run("trusted peer", func(t *testing.T) {
		trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		_, url := front(t, Options{TrustedProxies: trusted}, hello(backend))
		h := echoed(t, do(t, "GET", url, "hello.localhost", nil, spoofed)).Header
		want := map[string]string{
			"X-Forwarded-For": "6.6.6.6, 127.0.0.1", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example",
			"X-Forwarded-Port": "666", "X-Real-Ip": "6.6.6.6",
		}
		checkHeaders(t, h, want)
	})
	t.Run("trusted peer without headers", func(t *testing.T) {
		trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		_, url := front(t, Options{TrustedProxies: trusted}, hello(backend))
		h := echoed(t, get(t, url, "hello.localhost")).Header
		checkHeaders(t, h, map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http", "X-Forwarded-Port": "80"})
	})
}

func checkHeaders(t *testing.T, h http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := strings.Join(h[k], " | "); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestRequestID(t *testing.T) {
	var logged []string
	var mu sync.Mutex
	_, url := front(t, Options{AccessLog: func(e AccessEntry) {
		mu.Lock()
		logged = append(logged, e.RequestID)
		mu.Unlock()
	}}, hello(echoBackend(t, "hello")))

	first := echoed(t, get(t, url, "hello.localhost")).Header.Get("X-Request-Id")
	second := echoed(t, get(t, url, "hello.localhost")).Header.Get("X-Request-Id")
	if !hex32.MatchString(first) || !hex32.MatchString(second) || first == second {
		t.Errorf("generated ids %q and %q, want two different 32-hex-digit ids", first, second)
	}
	kept := "req-42_abc.def:1+2/3=@x"
	if got := echoed(t, do(t, "GET", url, "hello.localhost", nil, http.Header{"X-Request-Id": {kept}})).Header.Get("X-Request-Id"); got != kept {
		t.Errorf("sane id became %q, want it kept", got)
	}
	for _, bad := range []string{"has spaces", "<script>", strings.Repeat("a", 129)} {
		got := echoed(t, do(t, "GET", url, "hello.localhost", nil, http.Header{"X-Request-Id": {bad}})).Header.Get("X-Request-Id")
		if !hex32.MatchString(got) {
			t.Errorf("id %q became %q, want a fresh one", bad, got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logged) < 2 || logged[0] != first || logged[1] != second {
		t.Errorf("access log ids %q, want to start with %q, %q", logged, first, second)
	}
}

func TestAccessLog(t *testing.T) {
	entries := make(chan AccessEntry, 10)
	backend := echoBackend(t, "hello")
	_, url := front(t, Options{AccessLog: func(e AccessEntry) { entries <- e }}, hello(backend))
	r := get(t, url+"/some/path?secret=1", "Hello.localhost:99")
	e := <-entries
	if e.App != "hello" || e.Host != "Hello.localhost:99" || e.Method != "GET" || e.Path != "/some/path" ||
		e.Status != 200 || e.Bytes != int64(len(r.body)) || e.Backend != backend || e.Duration <= 0 || e.RequestID == "" {
		t.Errorf("entry %+v does not describe the request (body %d bytes, backend %s)", e, len(r.body), backend)
	}
	get(t, url, "nobody.localhost")
	if e := <-entries; e.App != "" || e.Status != 404 || e.Backend != "" {
		t.Errorf("404 entry %+v", e)
	}
}

func TestWebsocketUpgrade(t *testing.T) {
	backend := handlerBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "want an upgrade", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		for { // echo lines until the client hangs up
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			brw.WriteString("echo: " + line)
			brw.Flush()
		}
	})
	entries := make(chan AccessEntry, 1)
	_, url := front(t, Options{AccessLog: func(e AccessEntry) { entries <- e }}, hello(backend))

	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(conn, "GET /ws HTTP/1.1\r\nHost: hello.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", res.StatusCode)
	}
	for _, msg := range []string{"ping\n", "second message\n"} {
		fmt.Fprint(conn, msg)
		got, err := br.ReadString('\n')
		if err != nil || got != "echo: "+msg {
			t.Fatalf("read %q, %v; want %q", got, err, "echo: "+msg)
		}
	}
	conn.Close()
	if e := <-entries; e.Status != http.StatusSwitchingProtocols {
		t.Errorf("access log status %d, want 101", e.Status)
	}
}

func TestServerSentEventsStream(t *testing.T) {
	release := make(chan struct{})
	backend := handlerBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-release // the handler is not done until the client saw the first event
		fmt.Fprint(w, "data: last\n\n")
	})
	_, url := front(t, Options{}, hello(backend))
	req, _ := http.NewRequest("GET", url, nil)
	req.Host = "hello.localhost"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		close(release)
		t.Fatal(err)
	}
	defer res.Body.Close()
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(res.Body).ReadString('\n')
		got <- line
	}()
	select {
	case line := <-got:
		if line != "data: first\n" {
			t.Errorf("first line %q", line)
		}
	case <-time.After(5 * time.Second):
		t.Error("first event did not arrive while the handler was still running")
	}
	close(release)
}

func TestBodyLimit(t *testing.T) {
	var hits atomic.Int32
	backend := handlerBackend(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			return
		}
		fmt.Fprint(w, n)
	})
	_, url := front(t, Options{MaxBodyBytes: 1000}, hello(backend))
	want413 := "413 Content Too Large: request bodies are limited to 1000 bytes\n"

	r := do(t, "POST", url, "hello.localhost", strings.NewReader(strings.Repeat("x", 1001)), nil)
	if r.status != 413 || r.body != want413 || hits.Load() != 0 {
		t.Errorf("declared 1001 bytes: %d %q, backend hits %d; want 413 before the backend", r.status, r.body, hits.Load())
	}
	r = do(t, "POST", url, "hello.localhost", io.MultiReader(strings.NewReader(strings.Repeat("x", 5000))), nil)
	if r.status != 413 || r.body != want413 {
		t.Errorf("chunked 5000 bytes: %d %q, want 413", r.status, r.body)
	}
	for _, body := range []io.Reader{strings.NewReader(strings.Repeat("x", 1000)), io.MultiReader(strings.NewReader(strings.Repeat("x", 1000)))} {
		if r := do(t, "POST", url, "hello.localhost", body, nil); r.status != 200 || r.body != "1000" {
			t.Errorf("exactly the limit: %d %q, want 200 1000", r.status, r.body)
		}
	}
}

func TestUpdateWhileRequestsInFlight(t *testing.T) {
	a, b := echoBackend(t, "a"), echoBackend(t, "b")
	slowStarted, releaseSlow := make(chan struct{}), make(chan struct{})
	slow := handlerBackend(t, func(w http.ResponseWriter, r *http.Request) {
		close(slowStarted)
		<-releaseSlow
		fmt.Fprint(w, "slow done")
	})
	r, url := front(t, Options{}, hello(a), Route{App: "slow", Hosts: []string{"slow.localhost"}, Backends: []string{slow}})

	slowRes := make(chan response, 1)
	slowErr := make(chan error, 1)
	go func() {
		res, err := fetch("GET", url, "slow.localhost", nil, nil)
		slowRes <- res
		slowErr <- err
	}()
	<-slowStarted

	var wg sync.WaitGroup
	var done, failures atomic.Int32
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if res, err := fetch("GET", url, "hello.localhost", nil, nil); err != nil || res.status != 200 {
					failures.Add(1)
				}
				done.Add(1)
			}
		})
	}
	for i := 0; done.Load() < 500; i++ {
		backends := []string{a}
		if i%2 == 1 {
			backends = []string{b, a}
		}
		r.Update([]Route{hello(backends...)}) // drops the slow route
		time.Sleep(100 * time.Microsecond)
	}
	close(stop)
	wg.Wait()
	if failures.Load() != 0 {
		t.Errorf("%d of %d requests failed while the table was swapped", failures.Load(), done.Load())
	}
	close(releaseSlow)
	if res, err := <-slowRes, <-slowErr; err != nil || res.status != 200 || res.body != "slow done" {
		t.Errorf("in-flight request on the old table: %d %q %v", res.status, res.body, err)
	}
	if res := get(t, url, "slow.localhost"); res.status != 404 {
		t.Errorf("removed route: status %d, want 404", res.status)
	}
	if r.Len() != 1 {
		t.Errorf("Len %d, want 1", r.Len())
	}
}
