package main

import (
	"context"
	"crypto/tls"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/store"
	"github.com/wharfhq/wharf/web"
)

// ListCertificates returns app's certificates, without keys.
func (p *platform) ListCertificates(ctx context.Context, app string) ([]web.Certificate, error) {
	cs, err := p.db.ListCertificates(ctx, app)
	if err != nil {
		return nil, err
	}
	out := make([]web.Certificate, len(cs))
	for i, c := range cs {
		out[i] = web.Certificate{App: c.App, Names: c.Names, NotAfter: c.NotAfter, CreatedAt: c.CreatedAt}
	}
	return out, nil
}

// AddCertificate installs a certificate whose every name is a domain of
// app (its default host or a custom domain, wildcards included).
func (p *platform) AddCertificate(ctx context.Context, user, app, certPEM, keyPEM string) (web.Certificate, error) {
	pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return web.Certificate{}, wharf.Errorf(wharf.EINVALID, "not a PEM certificate chain and its private key: %v", err)
	}
	leaf := pair.Leaf
	if time.Now().After(leaf.NotAfter) {
		return web.Certificate{}, wharf.Errorf(wharf.EINVALID, "the certificate expired on %s", leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	if len(leaf.DNSNames) == 0 {
		return web.Certificate{}, wharf.Errorf(wharf.EINVALID, "the certificate names no DNS name (subjectAltName)")
	}
	ds, err := p.db.ListDomains(ctx, app)
	if err != nil {
		return web.Certificate{}, err
	}
	own := []string{app + "." + p.cfg.Domain}
	for _, d := range ds {
		own = append(own, d.Hostname)
	}
	names := make([]string, len(leaf.DNSNames))
	for i, n := range leaf.DNSNames {
		names[i] = strings.ToLower(n)
		_, parent, _ := strings.Cut(names[i], ".")
		if !slices.Contains(own, names[i]) && !slices.Contains(own, "*."+parent) {
			return web.Certificate{}, wharf.Errorf(wharf.EINVALID, "the certificate is for %s, which is not a domain of %s (add it first: wharf domains:add -a %s %s)", n, app, app, n)
		}
	}
	c, err := p.db.AddCertificate(ctx, store.Certificate{App: app, Names: names, CertPEM: certPEM, KeyPEM: keyPEM, NotAfter: leaf.NotAfter})
	if err != nil {
		return web.Certificate{}, err
	}
	p.event(ctx, app, user, "cert.add", "added a certificate for "+strings.Join(names, ", "))
	return web.Certificate{App: app, Names: c.Names, NotAfter: c.NotAfter, CreatedAt: c.CreatedAt}, nil
}

// SetRedirectHTTPS turns app's HTTP → HTTPS redirect on or off.
func (p *platform) SetRedirectHTTPS(ctx context.Context, user, app string, on bool) error {
	if err := p.db.SetRedirectHTTPS(ctx, app, on); err != nil {
		return err
	}
	state := "off"
	if on {
		state = "on"
	}
	p.event(ctx, app, user, "cert.redirect", "HTTP to HTTPS redirect "+state)
	return nil
}
