package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
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
	// Scheduler is where apps run: "docker" (this engine) or "swarm".
	Scheduler string
	// Registry is the host:port every swarm node pulls release images
	// from; RegistryListen serves the built-in registry there.
	Registry       string
	RegistryListen string
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
	str(&c.Scheduler, "scheduler", "docker", "where apps run: docker (this engine) or swarm (the swarm this engine manages)")
	str(&c.Registry, "registry", "", "swarm: host:port of the registry every node pulls release images from; empty: images stay on this node (a one-node swarm)")
	str(&c.RegistryListen, "registry-listen", "", "serve Wharf's built-in image registry (storage under the data dir) on this address, e.g. :5000")
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
	if err := c.validateScheduler(); err != nil {
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

func (c *Config) validateScheduler() error {
	switch c.Scheduler {
	case "docker":
		if c.Registry != "" {
			return fmt.Errorf("--registry is for --scheduler swarm")
		}
	case "swarm":
	default:
		return fmt.Errorf("--scheduler must be docker or swarm, not %q", c.Scheduler)
	}
	if c.Registry == "" && c.RegistryListen != "" {
		if host, _, err := net.SplitHostPort(c.RegistryListen); err == nil && host != "" && host != "0.0.0.0" && host != "::" {
			c.Registry = c.RegistryListen
		}
	}
	if c.Registry != "" && (strings.Contains(c.Registry, "/") || !strings.Contains(c.Registry, ":")) {
		return fmt.Errorf("--registry must be host:port, as nodes reach it, not %q", c.Registry)
	}
	return nil
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}
