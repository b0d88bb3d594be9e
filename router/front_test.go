package router

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// frontWith is front with FrontOptions of the test's own.
func frontWith(t testing.TB, fo FrontOptions, o Options, routes ...Route) (*Router, string) {
	t.Helper()
	r := newTestRouter(o, routes)
	f, err := r.ListenFront("127.0.0.1:0", fo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f.Shutdown(ctx)
		r.CloseIdleConnections()
	})
	return r, f.Addr().String()
}

// rawConn dials addr and returns the connection and a reader on it.
func rawConn(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func readResponse(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	res, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func TestFrontPipelinedRequestsAndHandOff(t *testing.T) {
	// Three fast GETs, a POST with its body (net/http's), then a GET that
	// net/http must find in the bytes the event loop already read.
	_, addr := frontWith(t, FrontOptions{}, Options{}, hello(echoBackend(t, "e")))
	c, br := rawConn(t, addr)
	var reqs strings.Builder
	for i := range 3 {
		fmt.Fprintf(&reqs, "GET /fast/%d HTTP/1.1\r\nHost: hello.localhost\r\n\r\n", i)
	}
	reqs.WriteString("POST /slow HTTP/1.1\r\nHost: hello.localhost\r\nContent-Length: 5\r\n\r\nhello")
	reqs.WriteString("GET /after HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
	if _, err := io.WriteString(c, reqs.String()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/fast/0", "/fast/1", "/fast/2", "/slow", "/after"} {
		res, body := readResponse(t, br, "GET")
		if res.StatusCode != 200 || !strings.Contains(body, `"Path":"`+want+`"`) {
			t.Fatalf("want the answer to %s, got %d %s", want, res.StatusCode, body)
		}
		if want == "/slow" && !strings.Contains(body, `"BodyLen":5`) {
			t.Errorf("the POST body did not reach the backend: %s", body)
		}
	}
}

func TestFrontClientConnectionClose(t *testing.T) {
	_, addr := frontWith(t, FrontOptions{}, Options{}, hello(echoBackend(t, "e")))
	c, br := rawConn(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: hello.localhost\r\nConnection: close\r\n\r\n")
	res, _ := readResponse(t, br, "GET")
	if res.StatusCode != 200 || !res.Close {
		t.Fatalf("status %d, close %v; want 200 with Connection: close", res.StatusCode, res.Close)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after Connection: close the router did not hang up: %v", err)
	}
}

func TestFrontReframesBodiesUntilClose(t *testing.T) {
	// An HTTP/1.0 backend ends its body by closing; the client still gets
	// a keep-alive connection, with the body chunked.
	addr, _ := scriptBackend(t, answer("HTTP/1.0 200 OK\r\n\r\nold style"))
	_, front := frontWith(t, FrontOptions{}, Options{}, hello(addr))
	c, br := rawConn(t, front)
	for range 2 {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
		res, body := readResponse(t, br, "GET")
		if res.StatusCode != 200 || body != "old style" || res.Close || res.TransferEncoding[0] != "chunked" {
			t.Fatalf("got %d %q close=%v te=%v", res.StatusCode, body, res.Close, res.TransferEncoding)
		}
	}
}

func TestFrontTimeouts(t *testing.T) {
	fo := FrontOptions{ReadHeaderTimeout: 300 * time.Millisecond, IdleTimeout: 600 * time.Millisecond}
	o := Options{Timeout: 200 * time.Millisecond} // a fast sweep
	_, addr := frontWith(t, fo, o, hello(echoBackend(t, "e")))
	t.Run("a head that never completes", func(t *testing.T) {
		c, br := rawConn(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: hel")
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("read %v, want the router to hang up", err)
		}
		if took := time.Since(start); took < 250*time.Millisecond || took > 2*time.Second {
			t.Errorf("closed after %v, want about the header timeout (300ms)", took)
		}
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		c, br := rawConn(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
		readResponse(t, br, "GET")
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("read %v, want the router to hang up", err)
		}
		if took := time.Since(start); took < 500*time.Millisecond || took > 3*time.Second {
			t.Errorf("idle connection closed after %v, want about the idle timeout (600ms)", took)
		}
	})
}

// bigBackend answers every request with size bytes of a fixed pattern,
// chunked or with a length, and counts what it managed to write.
func bigBackend(t *testing.T, size int, chunked bool, written *atomic.Int64) string {
	return handlerBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if !chunked {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		}
		buf := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
		for left := size; left > 0; {
			n := min(left, len(buf))
			m, err := w.Write(buf[:n])
			written.Add(int64(m))
			if err != nil {
				return
			}
			left -= n
			if chunked {
				w.(http.Flusher).Flush()
			}
		}
	})
}

func TestFrontPacesSlowClients(t *testing.T) {
	const size = 96 << 20
	want := sha256.Sum256(bytes.Repeat(bytes.Repeat([]byte("0123456789abcdef"), 4096), size/(64<<10)))
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			var written atomic.Int64
			_, addr := frontWith(t, FrontOptions{}, Options{}, hello(bigBackend(t, size, chunked, &written)))
			c, br := rawConn(t, addr)
			io.WriteString(c, "GET /big HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
			time.Sleep(time.Second) // the client reads nothing meanwhile
			// Socket buffers on both sides hold a few MiB; the router
			// itself must not have taken the rest of the 96 MiB.
			if w := written.Load(); w > 32<<20 {
				t.Errorf("the backend wrote %d MiB to a client that read nothing: the router buffered it", w>>20)
			}
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			n, err := io.Copy(h, res.Body)
			if err != nil || n != size || !bytes.Equal(h.Sum(nil), want[:]) {
				t.Fatalf("read %d bytes (err %v), want %d intact", n, err, size)
			}
			// The connection serves the next request.
			io.WriteString(c, "GET /again HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
			res, err = http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := io.Copy(io.Discard, res.Body); n != size {
				t.Errorf("second response: %d bytes", n)
			}
		})
	}
}

func TestParseRequestHead(t *testing.T) {
	const ok = "GET /a?b=c HTTP/1.1\r\nHost: x.localhost\r\nAccept: */*\r\n\r\n"
	if !parseRequestHead([]byte(ok), &reqHead{}) {
		t.Fatalf("refused %q", ok)
	}
	for name, head := range map[string]string{
		"POST":                  "POST / HTTP/1.1\r\nHost: x\r\n\r\n",
		"lowercase method":      "get / HTTP/1.1\r\nHost: x\r\n\r\n",
		"HTTP/1.0":              "GET / HTTP/1.0\r\nHost: x\r\n\r\n",
		"absolute form":         "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"no host":               "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
		"two hosts":             "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
		"bad host":              "GET / HTTP/1.1\r\nHost: x/y\r\n\r\n",
		"transfer-encoding":     "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
		"content-length":        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n",
		"upgrade":               "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		"expect":                "GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n",
		"folded":                "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n",
		"bare LF":               "GET / HTTP/1.1\nHost: x\n\n",
		"LF inside":             "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\nX-B: 2\r\n\r\n",
		"space before colon":    "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
		"control in value":      "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
		"space in target":       "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
		"connection names hdr":  "GET / HTTP/1.1\r\nHost: x\r\nConnection: X-Secret\r\n\r\n",
		"two request ids":       "GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\r\nX-Request-Id: b\r\n\r\n",
		"non-ASCII target":      "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",
		"empty header name":     "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n",
		"http2 settings header": "GET / HTTP/1.1\r\nHost: x\r\nHTTP2-Settings: AAA\r\n\r\n",
	} {
		if parseRequestHead([]byte(head), &reqHead{}) {
			t.Errorf("%s: took the fast path: %q", name, head)
		}
	}
}

func TestChunkScanner(t *testing.T) {
	body := "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Sum: 1\r\n\r\n"
	for split := 0; split <= len(body); split++ {
		var s chunkScanner
		n1, done1, err1 := s.scan([]byte(body[:split]))
		if done1 != (split == len(body)) {
			t.Fatalf("split %d: done %v after %d bytes", split, done1, n1)
		}
		n2, done2, err2 := 0, done1, error(nil)
		if !done1 {
			n2, done2, err2 = s.scan([]byte(body[split:] + "NEXT"))
		}
		if err1 != nil || err2 != nil || !done2 || n1+n2 != len(body) {
			t.Fatalf("split %d: %d+%d of %d, done %v/%v, err %v/%v", split, n1, n2, len(body), done1, done2, err1, err2)
		}
	}
	for _, bad := range []string{"x\r\n", "4\r\nWikiXX", "4\nWiki\r\n", "1234567890123456\r\n", "0\r\n" + strings.Repeat("a", maxTrailers+1)} {
		var s chunkScanner
		if _, _, err := s.scan([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// FuzzChunkScanner checks that where the scanner ends a body agrees with
// net/http's chunked reader on every input both accept.
func FuzzChunkScanner(f *testing.F) {
	f.Add([]byte("3\r\nabc\r\n0\r\n\r\n"), 2)
	f.Add([]byte("1;a=b\r\nx\r\n0\r\nT: v\r\n\r\nrest"), 7)
	f.Fuzz(func(t *testing.T, b []byte, split int) {
		var s chunkScanner
		split = max(0, min(split, len(b)))
		n1, d1, err := s.scan(b[:split])
		n, done := n1, d1
		if err == nil && !d1 {
			var n2 int
			n2, done, err = s.scan(b[split:])
			n += n2
		}
		if err != nil || !done {
			return
		}
		// net/http must read exactly b[:n] as one complete chunked body.
		cr := httputil.NewChunkedReader(bytes.NewReader(b[:n]))
		if _, rerr := io.Copy(io.Discard, cr); rerr != nil {
			t.Fatalf("scanner ended a body at %d that net/http rejects: %v (%q)", n, rerr, b[:n])
		}
	})
}

func TestFrontRetriesWhenABackendHangsUp(t *testing.T) {
	// One backend reads each request and hangs up without a word, as a
	// process killed mid-deploy does; every request still succeeds, once
	// more on the other backend.
	dying, tries := scriptBackend(t, func(c net.Conn, br *bufio.Reader) { readHead(br) })
	_, addr := frontWith(t, FrontOptions{}, Options{}, hello(dying, echoBackend(t, "alive")))
	for i := range 10 {
		r := get(t, "http://"+addr, "hello.localhost")
		if e := echoed(t, r); e.Name != "alive" {
			t.Fatalf("request %d answered by %q", i, e.Name)
		}
	}
	if tries.Load() == 0 {
		t.Error("the hanging-up backend was never tried")
	}
}
