package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
)

// Config is everything `wharfd serve` can be told, by flag or by the
// environment variable WHARF_<NAME> (flags win).
type Config struct {
	DataDir     string
	DatabaseURL string
	SSHAddr     string
	HTTPAddr    string
	HTTPS       httpsConfig // the router's HTTPS listener and ACME (https.go)
	APIAddr     string
	Domain      string
	LogFormat   string
	// KeepReleases is how many releases' images each app keeps, so a
	// rollback to them is instant.
	KeepReleases int
	LogLines     string // app output lines kept per app (logs.go)
}

var errHelp = errors.New("help requested")

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("wharfd serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	str := func(p *string, name, def, help string) {
		env := "WHARF_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if v := getenv(env); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, help+" (env "+env+")")
	}
	str(&c.DataDir, "data", "./wharf-data", "data directory: repos, host key, admin-token, private Postgres")
	str(&c.DatabaseURL, "database-url", getenv("DATABASE_URL"), "external Postgres URL (also DATABASE_URL); empty: a private cluster under the data dir")
	str(&c.SSHAddr, "ssh-addr", ":2222", "git over SSH listen address")
	str(&c.HTTPAddr, "http-addr", ":8080", "router listen address")
	c.HTTPS.register(str)
	str(&c.APIAddr, "api-addr", "127.0.0.1:8000", "API and dashboard listen address")
	str(&c.Domain, "domain", "localhost", "apps are served at <app>.<domain>")
	str(&c.LogFormat, "log-format", "text", "log format: text or json")
	str(&c.LogLines, "log-lines", "10000", "lines of app output kept per app (wharf logs)")
	keep := 5
	if v, err := strconv.Atoi(getenv("WHARF_KEEP_RELEASES")); err == nil {
		keep = v
	}
	fs.IntVar(&c.KeepReleases, "keep-releases", keep, "images of the newest N releases kept per app, for instant rollback (env WHARF_KEEP_RELEASES)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, errHelp
		}
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat)
	}
	if c.KeepReleases < 1 {
		return fmt.Errorf("--keep-releases must be at least 1, not %d", c.KeepReleases)
	}
	if err := c.HTTPS.validate(); err != nil {
		return err
	}
	c.Domain = strings.ToLower(strings.Trim(c.Domain, "."))
	if c.Domain == "" {
		return fmt.Errorf("--domain must not be empty")
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return fmt.Errorf("data dir %q: %w", c.DataDir, err)
	}
	c.DataDir = abs
	return nil
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}
