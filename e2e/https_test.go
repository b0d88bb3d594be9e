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
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// testCA is a certificate authority of the test's own.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM string
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Wharf e2e test CA"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, certPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// issue returns a certificate for host signed by ca, and its key, as PEM.
func (ca *testCA) issue(t *testing.T, host string) (certPEM, keyPEM string) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host},
		DNSNames: []string{host}, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// loopbackClient trusts only rootPEM and connects every request to
// 127.0.0.1 on its URL's port, whatever the URL's host (which is the SNI
// name), following no redirects.
func loopbackClient(rootPEM string) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(rootPEM))
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", portOf(addr)))
		}}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// TestServeHTTPS: a certificate added with `wharf certs:add` to an app of
// `wharfd serve` is served on serve's own HTTPS port, over HTTP/2, and the
// app's HTTP → HTTPS redirect points there.
func TestServeHTTPS(t *testing.T) {
	testenv.Docker(t)
	testenv.Busybox(t)
	d := newDaemon(t)
	d.start(t)
	app := uniqueApp("secure")
	host := "www." + app + ".test"
	deployApp(t, d, app, dockerfileApp("secure v1\n"))
	if out, err := d.cli(t, "domains:add", "-a", app, host); err != nil {
		t.Fatalf("domains:add: %v\n%s", err, out)
	}
	ca := newTestCA(t)
	certPEM, keyPEM := ca.issue(t, host)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "cert.pem"), certPEM)
	writeFile(t, filepath.Join(dir, "key.pem"), keyPEM)
	if out, err := d.cli(t, "certs:add", "-a", app, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")); err != nil {
		t.Fatalf("certs:add: %v\n%s", err, out)
	}
	client := loopbackClient(ca.certPEM)
	defer client.CloseIdleConnections()
	httpsURL := "https://" + host + ":" + portOf(d.httpsAddr) + "/"
	var proto, body string
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if proto, body, err = fetchProto(client, httpsURL); err == nil && proto == "HTTP/2.0" && body == "secure v1\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s through %s: %s %q %v; want the app over HTTP/2", httpsURL, d.httpsAddr, proto, body, err)
		}
	}

	if out, err := d.cli(t, "certs:redirect", "-a", app, "on"); err != nil {
		t.Fatalf("certs:redirect: %v\n%s", err, out)
	}
	var location string
	for deadline := time.Now().Add(5 * time.Second); location != httpsURL; time.Sleep(50 * time.Millisecond) {
		if res, err := client.Get("http://" + host + ":" + portOf(d.httpAddr) + "/"); err == nil {
			res.Body.Close()
			location = res.Header.Get("Location")
		}
		if time.Now().After(deadline) {
			t.Fatalf("plain HTTP redirects to %q, want %q (serve's HTTPS port)", location, httpsURL)
		}
	}
	if proto, body, err = fetchProto(client, location); err != nil || proto != "HTTP/2.0" || body != "secure v1\n" {
		t.Errorf("following the redirect: %s %q %v", proto, body, err)
	}
}

// fetchProto GETs url and returns the protocol and body.
func fetchProto(c *http.Client, url string) (proto, body string, err error) {
	res, err := c.Get(url)
	if err != nil {
		return "", "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return res.Proto, string(b), fmt.Errorf("status %d", res.StatusCode)
	}
	return res.Proto, string(b), err
}
