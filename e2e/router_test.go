package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/store"
)

// routerNode is one `wharfd router` process.
type routerNode struct {
	httpAddr, httpsAddr, metricsAddr string
	cmd                              *exec.Cmd
	log                              *testenv.SyncBuffer
	done                             chan struct{}
}

func startRouter(t *testing.T, dbURL string, extra ...string) *routerNode {
	t.Helper()
	wharfd, _ := binaries(t)
	n := &routerNode{httpAddr: freeAddr(t), httpsAddr: freeAddr(t), metricsAddr: freeAddr(t), log: &testenv.SyncBuffer{}, done: make(chan struct{})}
	n.cmd = exec.Command(wharfd, "router", "--database-url", dbURL, "--http-addr", n.httpAddr, "--https-addr", n.httpsAddr,
		"--metrics-addr", n.metricsAddr, "--domain", "localhost", "--resync", "2s")
	n.cmd.Args = append(n.cmd.Args, extra...)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("starting wharfd router: %v", err)
	}
	go func() { n.cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(30 * time.Second):
			n.cmd.Process.Kill()
			t.Errorf("wharfd router did not stop within 30s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("wharfd router %s log:\n%s", n.httpAddr, n.log)
		}
	})
	return n
}

// get asks the router for host.
func (n *routerNode) get(host string) (int, string) {
	req, _ := http.NewRequest("GET", "http://"+n.httpAddr+"/", nil)
	req.Host = host
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// waitFor polls host on n until it answers 200 with body, and returns how long it took.
func (n *routerNode) waitFor(t *testing.T, host, body string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		code, got := n.get(host)
		if code == 200 && got == body {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("router %s: %s answered %d %q after %s, want 200 %q", n.httpAddr, host, code, got, limit, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRouterNodes is issue 4's acceptance for `wharfd router`: two router
// processes share the routes in Postgres, a change reaches the second one
// within a second, and they keep serving while Postgres is down.
func TestRouterNodes(t *testing.T) {
	cluster, dir := testenv.PostgresCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db, err := store.Open(ctx, cluster.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "shop") }))
	defer backend.Close()
	app := uniqueApp("shop")
	if _, err := db.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	err = db.SetProcesses(ctx, app, []wharf.Process{{ContainerID: "c1-" + app, Release: 1, Type: "web", Instance: 1,
		Addr: strings.TrimPrefix(backend.URL, "http://"), State: "running"}})
	if err != nil {
		t.Fatal(err)
	}
	r1, r2 := startRouter(t, cluster.URL()), startRouter(t, cluster.URL())
	r1.waitFor(t, app+".localhost", "shop", 30*time.Second)
	r2.waitFor(t, app+".localhost", "shop", 30*time.Second)

	t.Run("a new domain reaches the second router within 1s", func(t *testing.T) {
		if code, _ := r2.get("www." + app + ".test"); code != 404 {
			t.Fatalf("before domains:add, got %d, want 404", code)
		}
		if _, err := db.AddDomain(ctx, app, "www."+app+".test"); err != nil {
			t.Fatal(err)
		}
		took := r2.waitFor(t, "www."+app+".test", "shop", time.Second)
		t.Logf("route change visible on the second router after %s", took)
	})

	t.Run("a certificate stored once is served by both routers over HTTP/2", func(t *testing.T) {
		host := "www." + app + ".test"
		certPEM, keyPEM := selfSignedPEM(t, host)
		if _, err := db.AddCertificate(ctx, store.Certificate{App: app, Names: []string{host}, CertPEM: certPEM, KeyPEM: keyPEM, NotAfter: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for _, n := range []*routerNode{r2, r1} {
			deadline := time.Now().Add(2 * time.Second)
			for {
				proto, body, err := httpsGet(n.httpsAddr, host, certPEM)
				if err == nil && proto == "HTTP/2.0" && body == "shop" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("https://%s on router %s: %s %q %v", host, n.httpsAddr, proto, body, err)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	})

	t.Run("access log and metrics", func(t *testing.T) {
		deadline := time.Now().Add(5 * time.Second)
		for {
			logs, err := db.RouterLogs(ctx, app, 10)
			if err == nil && len(logs) > 0 && strings.Contains(string(logs[len(logs)-1]), `"status": 200`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("router logs of %s: %s, %v", app, logs, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		_, metrics, err := getURL("http://" + r1.metricsAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`wharf_router_requests_total{app="` + app + `",class="2xx"}`, "wharf_router_backends_up 1",
			"wharf_router_routes 1", "wharf_router_request_duration_seconds_bucket", "wharf_router_table_age_seconds"} {
			if !strings.Contains(metrics, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
	})

	t.Run("Postgres down: routers keep serving; back: updates resume", func(t *testing.T) {
		db.Close()
		if err := cluster.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
			for _, n := range []*routerNode{r1, r2} {
				if code, body := n.get("www." + app + ".test"); code != 200 || body != "shop" {
					t.Fatalf("with Postgres down, router %s answered %d %q", n.httpAddr, code, body)
				}
			}
		}
		cluster, err = store.StartCluster(ctx, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if db, err = store.Open(ctx, cluster.URL()); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AddDomain(ctx, app, "api."+app+".test"); err != nil {
			t.Fatal(err)
		}
		r1.waitFor(t, "api."+app+".test", "shop", 15*time.Second)
		r2.waitFor(t, "api."+app+".test", "shop", 15*time.Second)
	})
}

func getURL(url string) (int, string, error) {
	res, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// TestDomainsCLI drives domains, the router's access log and /metrics
// through the real daemon and CLI (no push: the app has no backends, so
// its requests are 503s, which is what gets logged).
func TestDomainsCLI(t *testing.T) {
	testenv.Docker(t)
	d := newDaemon(t)
	d.start(t)
	shop, blog := uniqueApp("shop"), uniqueApp("blog")
	for _, app := range []string{shop, blog} {
		if out, err := d.cli(t, "apps:create", app); err != nil {
			t.Fatalf("apps:create: %v\n%s", err, out)
		}
	}
	host := "www." + shop + ".test"
	if out, err := d.cli(t, "domains:add", "-a", shop, strings.ToUpper(host)); err != nil || !strings.Contains(out, "Added "+host+" to "+shop) {
		t.Fatalf("domains:add: %v\n%s", err, out)
	}
	out, err := d.cli(t, "domains:add", "-a", blog, host)
	if err == nil || !strings.Contains(out, "domain "+host+" belongs to app "+shop) {
		t.Fatalf("domains:add of a taken domain: %v\n%s", err, out)
	}
	out, err = d.cli(t, "domains:add", "-a", blog, shop+".localhost")
	if err == nil || !strings.Contains(out, "is the default domain of app "+shop) {
		t.Fatalf("domains:add of another app's default domain: %v\n%s", err, out)
	}
	if out, err := d.cli(t, "domains", "-a", shop); err != nil || !strings.Contains(out, host) {
		t.Fatalf("domains: %v\n%s", err, out)
	}
	dir := t.TempDir()
	for _, name := range []string{host, "www." + blog + ".test"} {
		certPEM, keyPEM := selfSignedPEM(t, name)
		writeFile(t, filepath.Join(dir, name+".pem"), certPEM)
		writeFile(t, filepath.Join(dir, name+".key"), keyPEM)
	}
	if out, err := d.cli(t, "certs:add", "-a", shop, filepath.Join(dir, host+".pem"), filepath.Join(dir, host+".key")); err != nil || !strings.Contains(out, "Added a certificate for "+host) {
		t.Fatalf("certs:add: %v\n%s", err, out)
	}
	other := "www." + blog + ".test"
	if out, err := d.cli(t, "certs:add", "-a", shop, filepath.Join(dir, other+".pem"), filepath.Join(dir, other+".key")); err == nil || !strings.Contains(out, "not a domain of "+shop) {
		t.Fatalf("certs:add for another name: %v\n%s", err, out)
	}
	if out, err := d.cli(t, "certs", "-a", shop); err != nil || !strings.Contains(out, host) {
		t.Fatalf("certs: %v\n%s", err, out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for code, _, _ := d.get(host, "/x"); code != 503; code, _, _ = d.get(host, "/x") {
		if time.Now().After(deadline) {
			t.Fatalf("router answers %d for %s, want 503 (the app has no backends)", code, host)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for deadline = time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, err = d.cli(t, "logs", "-a", shop, "--router", "-n", "5")
		if err == nil && strings.Contains(out, " GET "+host+"/x 503 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs --router: %v\n%s", err, out)
		}
	}
	_, metrics, err := getURL("http://" + d.apiAddr + "/metrics")
	if err != nil || !strings.Contains(metrics, `wharf_router_requests_total{app="`+shop+`",class="5xx"}`) || !strings.Contains(metrics, "wharf_router_hosts ") {
		t.Fatalf("/metrics: %v\n%s", err, metrics)
	}
	if out, err := d.cli(t, "certs:redirect", "-a", shop, "on"); err != nil {
		t.Fatalf("certs:redirect: %v\n%s", err, out)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for deadline = time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		req, _ := http.NewRequest("GET", "http://"+d.httpAddr+"/x?y=1", nil)
		req.Host = host
		res, err := noFollow.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 308 && res.Header.Get("Location") == "https://"+host+":"+portOf(d.httpsAddr)+"/x?y=1" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no HTTPS redirect for %s: %v %v", host, res, err)
		}
	}
	if out, err := d.cli(t, "domains:remove", "-a", shop, host); err != nil {
		t.Fatalf("domains:remove: %v\n%s", err, out)
	}
	for deadline = time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if code, _, _ := d.get(host, "/"); code == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still routed after domains:remove", host)
		}
	}
}

// selfSignedPEM returns a certificate for host and its key, as PEM.
func selfSignedPEM(t *testing.T, host string) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host},
		DNSNames: []string{host}, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

// httpsGet asks addr for https://host/, trusting only rootPEM, and returns
// the protocol and body.
func httpsGet(addr, host, rootPEM string) (string, string, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(rootPEM))
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		}}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + host + "/")
	if err != nil {
		return "", "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.Proto, string(b), err
}

// startPebble builds and starts Let's Encrypt's Pebble ACME server on
// loopback (validation skipped: PEBBLE_VA_ALWAYS_VALID=1) and returns its
// directory URL, the root its own HTTPS uses, and its log.
func startPebble(t *testing.T) (dirURL, rootPEM string, log *testenv.SyncBuffer) {
	t.Helper()
	bin := filepath.Join(binDir, "pebble")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/letsencrypt/pebble/v2/cmd/pebble").CombinedOutput(); err != nil {
		t.Fatalf("building pebble: %v\n%s", err, out)
	}
	// Listed after the build: with a clean module cache, go list -m prints
	// an empty Dir until the build has downloaded the module.
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/letsencrypt/pebble/v2").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" {
		t.Fatalf("finding the pebble module's directory (%q): %v", mod, err)
	}
	addr := freeAddr(t)
	conf := fmt.Sprintf(`{"pebble": {"listenAddress": %q, "managementListenAddress": %q, "certificate": %q, "privateKey": %q,
		"httpPort": 1, "tlsPort": 1, "ocspResponderURL": "", "externalAccountBindingRequired": false,
		"retryAfter": {"authz": 1, "order": 1}, "keyAlgorithm": "ecdsa",
		"profiles": {"default": {"description": "default", "validityPeriod": 7776000}}}}`,
		addr, freeAddr(t), filepath.Join(mod, "test/certs/localhost/cert.pem"), filepath.Join(mod, "test/certs/localhost/key.pem"))
	confPath := filepath.Join(t.TempDir(), "pebble.json")
	writeFile(t, confPath, conf)
	log = &testenv.SyncBuffer{}
	cmd := exec.Command(bin, "-config", confPath)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting pebble: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("pebble log:\n%s", log)
		}
	})
	root, err := os.ReadFile(filepath.Join(mod, "test/certs/pebble.minica.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble does not listen on %s:\n%s", addr, log)
		}
	}
	return "https://" + addr + "/dir", string(root), log
}

// servedCert returns the leaf certificate addr presents for host.
func servedCert(addr, host string) (*x509.Certificate, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{ServerName: host, InsecureSkipVerify: true}) // Pebble's roots are random; compared by serial instead
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// TestACMEWithPebble: a custom domain gets a certificate from a real ACME
// server; a second router node serves the same certificate from Postgres
// without asking the CA again.
func TestACMEWithPebble(t *testing.T) {
	cluster, _ := testenv.PostgresCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db, err := store.Open(ctx, cluster.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dirURL, rootPEM, pebbleLog := startPebble(t)
	rootFile := filepath.Join(t.TempDir(), "root.pem")
	writeFile(t, rootFile, rootPEM)
	app := uniqueApp("shop")
	host := "www." + app + ".test"
	if _, err := db.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddDomain(ctx, app, host); err != nil {
		t.Fatal(err)
	}
	acme := []string{"--acme-ca", dirURL, "--acme-ca-root", rootFile, "--acme-email", "ops@example.com"}
	r1 := startRouter(t, cluster.URL(), acme...)
	var first *x509.Certificate
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if first, err = servedCert(r1.httpsAddr, host); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no certificate for %s from the first router: %v", host, err)
		}
	}
	if len(first.DNSNames) != 1 || first.DNSNames[0] != host || !strings.Contains(first.Issuer.CommonName, "Pebble") {
		t.Fatalf("certificate for %v issued by %q", first.DNSNames, first.Issuer.CommonName)
	}
	r2 := startRouter(t, cluster.URL(), acme...)
	var second *x509.Certificate
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if second, err = servedCert(r2.httpsAddr, host); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no certificate for %s from the second router: %v", host, err)
		}
	}
	if second.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Errorf("the second router serves serial %x, the first %x", second.SerialNumber, first.SerialNumber)
	}
	if n := strings.Count(pebbleLog.String(), "Issued certificate serial"); n != 1 {
		t.Errorf("pebble issued %d certificates, want 1", n)
	}
}
