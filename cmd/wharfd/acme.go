package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/wharfhq/wharf/router"
	"github.com/wharfhq/wharf/store"
)

// acmeLockTTL bounds how long a crashed node's ACME lock blocks the others.
const acmeLockTTL = 5 * time.Minute

// blobStorage is certmagic.Storage on store.Blobs, so every router node
// shares ACME accounts, certificates and locks through Postgres.
type blobStorage struct{ b store.Blobs }

var _ certmagic.Storage = blobStorage{}

func (s blobStorage) Store(ctx context.Context, key string, value []byte) error {
	return s.b.Put(ctx, key, value)
}
func (s blobStorage) Load(ctx context.Context, key string) ([]byte, error) { return s.b.Get(ctx, key) }
func (s blobStorage) Delete(ctx context.Context, key string) error         { return s.b.Delete(ctx, key) }
func (s blobStorage) Exists(ctx context.Context, key string) bool {
	_, err := s.b.Stat(ctx, key)
	return err == nil
}
func (s blobStorage) List(ctx context.Context, path string, recursive bool) ([]string, error) {
	return s.b.List(ctx, path, recursive)
}
func (s blobStorage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	i, err := s.b.Stat(ctx, key)
	return certmagic.KeyInfo{Key: i.Key, Modified: i.Modified, Size: i.Size, IsTerminal: !i.IsDir}, err
}

// Lock waits until it holds the lock name (or ctx ends).
func (s blobStorage) Lock(ctx context.Context, name string) error {
	for {
		ok, err := s.b.TryLock(ctx, name, acmeLockTTL)
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
func (s blobStorage) Unlock(ctx context.Context, name string) error { return s.b.Unlock(ctx, name) }

// acmeConfig is what `wharfd router` is told about the ACME CA.
type acmeConfig struct {
	CA     string // directory URL; "" disables automatic certificates
	Email  string
	CARoot string // PEM file of a root to trust for the CA's own HTTPS (e.g. Pebble's)
}

// acmeManager obtains certificates for the custom domains in the routing
// table that have no uploaded certificate.
type acmeManager struct {
	cfg     *certmagic.Config
	issuer  *certmagic.ACMEIssuer
	log     *slog.Logger
	mu      sync.Mutex
	managed map[string]bool
}

func newACMEManager(ac acmeConfig, db *store.DB, log *slog.Logger) (*acmeManager, error) {
	var roots *x509.CertPool
	if ac.CARoot != "" {
		pem, err := os.ReadFile(ac.CARoot)
		if err != nil {
			return nil, fmt.Errorf("reading --acme-ca-root: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--acme-ca-root %s holds no PEM certificate", ac.CARoot)
		}
	}
	m := &acmeManager{log: log, managed: map[string]bool{}}
	cache := certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return m.cfg, nil },
		Logger:           zap.NewNop(),
	})
	m.cfg = certmagic.New(cache, certmagic.Config{Storage: blobStorage{db.Blobs()}, Logger: zap.NewNop()})
	m.issuer = certmagic.NewACMEIssuer(m.cfg, certmagic.ACMEIssuer{
		CA: ac.CA, Email: ac.Email, Agreed: true, TrustedRoots: roots, Logger: zap.NewNop(),
	})
	m.cfg.Issuers = []certmagic.Issuer{m.issuer}
	return m, nil
}

// manage starts managing the custom domains of routes not yet managed:
// names under the installation's domain, wildcards and names with an
// uploaded certificate are left out.
func (m *acmeManager) manage(ctx context.Context, routes []router.Route, domain string) {
	var names []string
	m.mu.Lock()
	for _, rt := range routes {
		for _, h := range rt.Hosts {
			if strings.HasPrefix(h, "*.") || strings.HasSuffix(h, "."+domain) || m.managed[h] || hasCertFor(rt, h) {
				continue
			}
			m.managed[h] = true
			names = append(names, h)
		}
	}
	m.mu.Unlock()
	if len(names) == 0 {
		return
	}
	if err := m.cfg.ManageAsync(ctx, names); err != nil {
		m.log.Warn("acme: cannot manage certificates", "names", names, "err", err)
	}
}

// hasCertFor reports whether rt carries an uploaded certificate naming h.
func hasCertFor(rt router.Route, h string) bool {
	for _, c := range rt.Certificates {
		if pair, err := tls.X509KeyPair([]byte(c.CertPEM), []byte(c.KeyPEM)); err == nil && slices.Contains(pair.Leaf.DNSNames, h) {
			return true
		}
	}
	return false
}

// getCertificate serves managed certificates and TLS-ALPN challenges.
func (m *acmeManager) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return m.cfg.GetCertificate(hello)
}

// httpChallenges answers HTTP-01 challenges before the router sees the request.
func (m *acmeManager) httpChallenges(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.issuer.HandleHTTPChallenge(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}
