package router

import (
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Certificate is a PEM certificate chain and its private key. The router
// serves it for each DNS name in it that routes to the same app.
type Certificate struct {
	CertPEM, KeyPEM string
}

// certCache keeps parsed certificates between table updates, so a resync
// does not parse every key again.
type certCache struct {
	mu sync.Mutex
	m  map[[32]byte]*tls.Certificate
}

// parse returns the parsed c, from the cache when it was seen before;
// used collects the keys the new table uses.
func (cc *certCache) parse(c Certificate, used map[[32]byte]*tls.Certificate) (*tls.Certificate, error) {
	key := sha256.Sum256([]byte(c.CertPEM + "\x00" + c.KeyPEM))
	cc.mu.Lock()
	parsed := cc.m[key]
	cc.mu.Unlock()
	if parsed == nil {
		pair, err := tls.X509KeyPair([]byte(c.CertPEM), []byte(c.KeyPEM))
		if err != nil {
			return nil, err
		}
		parsed = &pair
	}
	used[key] = parsed
	return parsed, nil
}

// addCerts fills t.certs from routes: each name of a certificate is
// installed only when that name routes to the certificate's app.
func (r *Router) addCerts(t *table, routes []Route) {
	used := map[[32]byte]*tls.Certificate{}
	for _, rt := range routes {
		for _, c := range rt.Certificates {
			parsed, err := r.certs.parse(c, used)
			if err != nil {
				r.log.Warn("router: ignoring an unusable certificate", "app", rt.App, "err", err)
				continue
			}
			for _, name := range parsed.Leaf.DNSNames {
				name = strings.ToLower(name)
				var owner *route
				if rest, ok := strings.CutPrefix(name, "*."); ok {
					owner = t.wild[rest]
				} else {
					owner = t.lookup(name)
				}
				if owner == nil || owner.app != rt.App {
					continue
				}
				if t.certs == nil {
					t.certs = map[string]*tls.Certificate{}
				}
				t.certs[name] = parsed
			}
		}
	}
	r.certs.mu.Lock()
	r.certs.m = used
	r.certs.mu.Unlock()
}

// GetCertificate is tls.Config.GetCertificate: the certificate for the
// SNI name, exact first, then a wildcard one.
func (r *Router) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if r.getCert != nil && slices.Contains(hello.SupportedProtos, acmeTLSALPN) {
		return r.getCert(hello)
	}
	t := r.table.Load()
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if c := t.certs[name]; c != nil {
		return c, nil
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		if c := t.certs["*"+name[i:]]; c != nil {
			return c, nil
		}
	}
	if r.getCert != nil {
		return r.getCert(hello)
	}
	return nil, fmt.Errorf("router: no certificate for %q", hello.ServerName)
}

// acmeTLSALPN is the ALPN protocol of ACME TLS-ALPN-01 challenges.
const acmeTLSALPN = "acme-tls/1"

// TLSConfig returns the configuration for the router's HTTPS listener:
// certificates by SNI from the table (then Options.GetCertificate), HTTP/2
// and HTTP/1.1, and ACME TLS-ALPN when Options.GetCertificate is set.
func (r *Router) TLSConfig() *tls.Config {
	protos := []string{"h2", "http/1.1"}
	if r.getCert != nil {
		protos = append(protos, acmeTLSALPN)
	}
	return &tls.Config{GetCertificate: r.GetCertificate, NextProtos: protos, MinVersion: tls.VersionTLS12}
}

// redirectToHTTPS answers 308 with the same host and URI over HTTPS.
func (r *Router) redirectToHTTPS(w http.ResponseWriter, req *http.Request) {
	host := stripPort(req.Host)
	if r.httpsPort != "" && r.httpsPort != "443" {
		host += ":" + r.httpsPort
	}
	uri := req.RequestURI
	if uri == "" || uri[0] != '/' {
		uri = req.URL.RequestURI()
	}
	w.Header().Set("Location", "https://"+host+uri)
	writePage(w, http.StatusPermanentRedirect, "308 Permanent Redirect: this app is served over HTTPS\n")
}
