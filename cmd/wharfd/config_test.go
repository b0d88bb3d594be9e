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
