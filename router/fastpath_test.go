package router

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scriptBackend accepts connections and runs serve on each; it returns its
// address and a counter of accepted connections.
func scriptBackend(t *testing.T, serve func(c net.Conn, br *bufio.Reader)) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { defer c.Close(); serve(c, bufio.NewReader(c)) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String(), &n
}

// readHead reads one request head and returns its lines.
func readHead(br *bufio.Reader) ([]string, error) {
	var lines []string
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if l = strings.TrimRight(l, "\r\n"); l == "" {
			return lines, nil
		}
		lines = append(lines, l)
	}
}

// answer serves every request head with the fixed response res, and
// hangs up after it when res is delimited by the end of the connection.
func answer(res string) func(net.Conn, *bufio.Reader) {
	closes := strings.Contains(res, "Connection: close") || strings.HasPrefix(res, "HTTP/1.0")
	return func(c net.Conn, br *bufio.Reader) {
		for {
			if _, err := readHead(br); err != nil {
				return
			}
			if _, err := io.WriteString(c, res); err != nil || closes {
				return
			}
		}
	}
}

func TestFastPathReusesConnections(t *testing.T) {
	bothFronts(t, func(t *testing.T, front frontFunc) {
		addr, conns := scriptBackend(t, answer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"))
		_, url := front(t, Options{}, hello(addr))
		for i := range 50 {
			if r := get(t, url, "hello.localhost"); r.status != 200 || r.body != "hello" {
				t.Fatalf("request %d: %d %q", i, r.status, r.body)
			}
		}
		if n := conns.Load(); n != 1 {
			t.Errorf("50 sequential requests opened %d backend connections, want 1", n)
		}
	})
}

func TestFastPathRetriesClosedIdleConnection(t *testing.T) {
	bothFronts(t, func(t *testing.T, front frontFunc) {
		// The backend answers one request per connection but does not say so,
		// like a server whose keep-alive timeout just expired.
		addr, conns := scriptBackend(t, func(c net.Conn, br *bufio.Reader) {
			if _, err := readHead(br); err == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
		})
		_, url := front(t, Options{}, hello(addr))
		for i := range 5 {
			if r := get(t, url, "hello.localhost"); r.status != 200 || r.body != "ok" {
				t.Fatalf("request %d: %d %q", i, r.status, r.body)
			}
			time.Sleep(10 * time.Millisecond) // let the close arrive
		}
		if n := conns.Load(); n < 5 {
			t.Errorf("%d connections for 5 requests", n)
		}
	})
}

func TestFastPathResponseFraming(t *testing.T) {
	bothFronts(t, func(t *testing.T, front frontFunc) {
		cases := []struct {
			name, method, res, wantBody string
			wantHeader                  map[string]string
		}{
			{"chunked with trailer", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n", "abcde", map[string]string{"X-Sum": "5"}},
			{"until close", "GET", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end", "to the end", nil},
			{"HTTP/1.0", "GET", "HTTP/1.0 200 OK\r\n\r\nold", "old", nil},
			{"HEAD keeps its length", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n", "", map[string]string{"Content-Length": "42"}},
			{"204", "GET", "HTTP/1.1 204 No Content\r\n\r\n", "", nil},
			{"1xx skipped", "GET", "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "ok", nil},
			{"hop-by-hop dropped, names canonical", "GET", "HTTP/1.1 200 OK\r\ncontent-type: text/x\r\nKeep-Alive: timeout=5\r\nUpgrade: h2c\r\nx-multi: a\r\nX-Multi: b\r\nContent-Length: 1\r\n\r\n!", "!",
				map[string]string{"Content-Type": "text/x", "Keep-Alive": "", "Upgrade": "", "X-Multi": "a"}},
			{"LF only", "GET", "HTTP/1.1 200 OK\nContent-Length: 2\n\nlf", "lf", nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				addr, _ := scriptBackend(t, answer(c.res))
				_, url := front(t, Options{}, hello(addr))
				for range 2 { // the second one on the reused connection, when reusable
					r := do(t, c.method, url, "hello.localhost", nil, nil)
					if r.status/100 != 2 || r.body != c.wantBody {
						t.Fatalf("got %d %q, want %q", r.status, r.body, c.wantBody)
					}
					for k, v := range c.wantHeader {
						if got := r.header.Get(k) + r.trailer.Get(k); got != v {
							t.Errorf("header %s = %q, want %q", k, got, v)
						}
					}
				}
			})
		}
	})
}

func TestFastPathBadResponses(t *testing.T) {
	bothFronts(t, func(t *testing.T, front frontFunc) {
		for name, res := range map[string]string{
			"garbage":               "SSH-2.0-OpenSSH\r\n\r\n",
			"two lengths":           "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
			"unknown coding":        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
			"space before colon":    "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\na",
			"folded header":         "HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 1\r\n\r\na",
			"unasked switch":        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
			"head too large":        "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", connReadBuffer) + "\r\n\r\n",
			"cut short in the head": "HTTP/1.1 200 OK\r\nContent-Le",
		} {
			t.Run(name, func(t *testing.T) {
				addr, _ := scriptBackend(t, func(c net.Conn, br *bufio.Reader) {
					if _, err := readHead(br); err == nil {
						io.WriteString(c, res)
					}
				})
				_, url := front(t, Options{}, hello(addr))
				if r := get(t, url, "hello.localhost"); r.status != 502 || r.header.Get("X-Big") != "" {
					t.Errorf("got %d %q, want 502", r.status, r.body)
				}
			})
		}
	})
}

func TestFastPathCutShortBodyAborts(t *testing.T) {
	bothFronts(t, func(t *testing.T, front frontFunc) {
		addr, _ := scriptBackend(t, func(c net.Conn, br *bufio.Reader) {
			if _, err := readHead(br); err == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
			}
		})
		_, url := front(t, Options{}, hello(addr))
		if _, err := fetch("GET", url, "hello.localhost", nil, nil); err == nil {
			t.Fatal("a body cut short by the backend reached the client as complete")
		}
	})
}

func TestFastPathRequestHead(t *testing.T) {
	bothFronts(t, func(t *testing.T, front frontFunc) {
		heads := make(chan []string, 1)
		addr, _ := scriptBackend(t, func(c net.Conn, br *bufio.Reader) {
			lines, err := readHead(br)
			if err == nil {
				heads <- lines
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			}
		})
		_, url := front(t, Options{}, hello(addr))
		do(t, "GET", url+"/a%2Fb/c?q=1&r=%20", "hello.localhost", nil, http.Header{
			"Connection": {"X-Private"}, "X-Private": {"secret"}, "Proxy-Authorization": {"Basic x"}, "Te": {"trailers"}, "Accept": {"*/*"},
		})
		lines := <-heads
		if lines[0] != "GET /a%2Fb/c?q=1&r=%20 HTTP/1.1" || lines[1] != "Host: hello.localhost" {
			t.Errorf("request line and host = %q", lines[:2])
		}
		all := strings.Join(lines, "\n")
		for _, bad := range []string{"X-Private", "Proxy-Authorization", "Te:", "Connection"} {
			if strings.Contains(all, bad) {
				t.Errorf("hop-by-hop %q was forwarded:\n%s", bad, all)
			}
		}
		for _, want := range []string{"Accept: */*", "X-Forwarded-For: 127.0.0.1", "X-Forwarded-Proto: http", "X-Forwarded-Host: hello.localhost", "X-Request-Id: "} {
			if !strings.Contains(all, want) {
				t.Errorf("request head lacks %q:\n%s", want, all)
			}
		}
	})
}

func TestFastPathClientGoneClosesBackend(t *testing.T) {
	bothFronts(t, func(t *testing.T, front frontFunc) {
		closed := make(chan struct{})
		addr, _ := scriptBackend(t, func(c net.Conn, br *bufio.Reader) {
			if _, err := readHead(br); err != nil {
				return
			}
			c.Read(make([]byte, 1)) // never answers; returns when the router hangs up
			close(closed)
		})
		statuses := make(chan int, 1)
		_, url := front(t, Options{AccessLog: func(e AccessEntry) { statuses <- e.Status }}, hello(addr))
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		req.Host = "hello.localhost"
		if _, err := http.DefaultClient.Do(req); err == nil {
			t.Fatal("no error")
		}
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatal("the backend connection stayed open after the client went away")
		}
		if s := <-statuses; s != statusClientClosed {
			t.Errorf("access log status %d, want %d", s, statusClientClosed)
		}
	})
}
