package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfigFlagsBeatEnvironment(t *testing.T) {
	env := map[string]string{"WHARF_SSH_ADDR": "127.0.0.1:2022", "WHARF_DOMAIN": "env.example", "DATABASE_URL": "postgres://db/x"}
	c, err := parseConfig([]string{"--domain", "Apps.Example.", "--data", "rel-data"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.SSHAddr != "127.0.0.1:2022" || c.Domain != "apps.example" || c.DatabaseURL != "postgres://db/x" {
		t.Errorf("config = %+v", c)
	}
	if !filepath.IsAbs(c.DataDir) || !strings.HasSuffix(c.DataDir, "rel-data") {
		t.Errorf("data dir %q should be made absolute", c.DataDir)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.SSHAddr != ":2222" || c.HTTPAddr != ":8080" || c.APIAddr != "127.0.0.1:8000" || c.Domain != "localhost" || c.LogFormat != "text" {
		t.Errorf("defaults = %+v", c)
	}
}

func TestParseConfigRejectsBadInput(t *testing.T) {
	for _, args := range [][]string{{"--log-format", "xml"}, {"--domain", "."}, {"extra"}, {"--no-such-flag"}} {
		if _, err := parseConfig(args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("parseConfig(%q) accepted bad input", args)
		}
	}
}

func TestParseConfigHTTPS(t *testing.T) {
	c, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil || c.HTTPS.Addr != ":8443" || c.HTTPS.port() != "8443" || c.HTTPS.ACME.CA != "" {
		t.Fatalf("defaults: %+v, %v; want HTTPS on :8443 without ACME", c.HTTPS, err)
	}
	env := map[string]string{"WHARF_HTTPS_ADDR": "127.0.0.1:9443", "WHARF_ACME_CA": "https://ca.test/dir", "WHARF_ACME_EMAIL": "ops@example.com"}
	c, err = parseConfig([]string{"--acme-ca-root", "/etc/root.pem"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil || c.HTTPS.Addr != "127.0.0.1:9443" || c.HTTPS.port() != "9443" ||
		c.HTTPS.ACME != (acmeConfig{CA: "https://ca.test/dir", Email: "ops@example.com", CARoot: "/etc/root.pem"}) {
		t.Fatalf("from the environment: %+v, %v", c.HTTPS, err)
	}
	if c, err = parseConfig([]string{"--https-addr", ""}, func(string) string { return "" }, io.Discard); err != nil || c.HTTPS.Addr != "" || c.HTTPS.port() != "" {
		t.Fatalf("--https-addr '': %+v, %v; want no HTTPS listener", c.HTTPS, err)
	}
	_, err = parseConfig([]string{"--https-addr", "", "--acme-ca", "https://ca.test/dir"}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--acme-ca needs an HTTPS listener") {
		t.Errorf("ACME without HTTPS: %v", err)
	}
}
