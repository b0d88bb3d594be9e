package router

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"
)

// selfSigned returns a certificate for names, valid for an hour.
func selfSigned(t *testing.T, names ...string) Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return Certificate{CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))}
}

// tlsFront serves r over HTTPS (HTTP/2 and HTTP/1.1) and returns its address.
func tlsFront(t *testing.T, r *Router) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: r, TLSConfig: r.TLSConfig(), ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close(); r.CloseIdleConnections() })
	return ln.Addr().String()
}

// httpsGet asks addr for https://host/ trusting only roots.
func httpsGet(addr, host string, roots ...Certificate) (*http.Response, string, error) {
	pool := x509.NewCertPool()
	for _, c := range roots {
		pool.AppendCertsFromPEM([]byte(c.CertPEM))
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		}}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Get("https://" + host + "/")
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, string(b), err
}

func TestHTTPSBySNI(t *testing.T) {
	shopCert := selfSigned(t, "www.shop.test", "other.test")
	wildCert := selfSigned(t, "*.wild.test")
	r := New(Options{Logger: slog.New(slog.DiscardHandler)})
	shop := echoBackend(t, "shop")
	r.Update([]Route{
		{App: "shop", Hosts: []string{"www.shop.test", "*.wild.test"}, Backends: []string{shop}, Certificates: []Certificate{shopCert, wildCert, {CertPEM: "junk"}}},
		{App: "other", Hosts: []string{"other.test"}, Backends: []string{shop}},
	})
	addr := tlsFront(t, r)

	res, body, err := httpsGet(addr, "www.shop.test", shopCert)
	if err != nil {
		t.Fatal(err)
	}
	if res.ProtoMajor != 2 {
		t.Errorf("protocol %s, want HTTP/2", res.Proto)
	}
	var e echo
	if e = echoed(t, response{status: res.StatusCode, body: body}); e.Header.Get("X-Forwarded-Proto") != "https" || e.Header.Get("X-Forwarded-Port") != "443" {
		t.Errorf("forwarded headers over HTTPS: %v", e.Header)
	}
	if _, _, err := httpsGet(addr, "a.wild.test", wildCert); err != nil {
		t.Errorf("wildcard certificate: %v", err)
	}
	// A name in shop's certificate that routes to another app is not served.
	var certErr *tls.CertificateVerificationError
	if _, _, err := httpsGet(addr, "other.test", shopCert); err == nil || errors.As(err, &certErr) {
		t.Errorf("other.test with shop's certificate: %v, want a handshake failure", err)
	}
	if _, _, err := httpsGet(addr, "nothing.test", shopCert); err == nil {
		t.Error("a handshake for a name without a certificate succeeded")
	}
	// Removing the certificate takes effect at the next update.
	r.Update([]Route{{App: "shop", Hosts: []string{"www.shop.test"}, Backends: []string{shop}}})
	if _, _, err := httpsGet(addr, "www.shop.test", shopCert); err == nil {
		t.Error("a removed certificate is still served")
	}
}

func TestRedirectHTTPS(t *testing.T) {
	r, url := front(t, Options{HTTPSPort: "8443"},
		Route{App: "shop", Hosts: []string{"shop.localhost"}, Backends: []string{echoBackend(t, "shop")}, RedirectHTTPS: true},
		Route{App: "blog", Hosts: []string{"blog.localhost"}, Backends: []string{echoBackend(t, "blog")}})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", url+"/a/b?c=d", nil)
	req.Host = "shop.localhost:8080"
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 308 || res.Header.Get("Location") != "https://shop.localhost:8443/a/b?c=d" {
		t.Errorf("got %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if e := echoed(t, get(t, url, "blog.localhost")); e.Name != "blog" {
		t.Errorf("an app without the redirect answered %+v", e)
	}
	// Over HTTPS the app is served.
	cert := selfSigned(t, "shop.localhost")
	r.Update([]Route{{App: "shop", Hosts: []string{"shop.localhost"}, Backends: []string{echoBackend(t, "shop")}, RedirectHTTPS: true, Certificates: []Certificate{cert}}})
	if res, _, err := httpsGet(tlsFront(t, r), "shop.localhost", cert); err != nil || res.StatusCode != 200 {
		t.Errorf("over HTTPS: %v %v", res, err)
	}
}
