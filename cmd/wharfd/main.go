// Command wharfd is the Wharf daemon. `wharfd serve` wires the store, the
// git receiver, the builder, the deployer, the router and the HTTP API
// together; `wharfd hook pre-receive` is the git hook that hands a push to
// the running daemon.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/wharfhq/wharf/gitreceiver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage:
  wharfd serve [flags]        start the daemon (wharfd serve --help for flags)
  wharfd router [flags]       run only the router, reading routes from Postgres (wharfd router --help)
  wharfd hook pre-receive     git pre-receive hook (run by git, not by hand)
  wharfd stack build          make the buildpack stack images now (else made on first need)
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "router":
		return routerMain(ctx, args[1:], stderr)
	case "hook":
		if len(args) != 2 || args[1] != "pre-receive" {
			fmt.Fprintln(stderr, "wharfd: usage: wharfd hook pre-receive")
			return 2
		}
		return gitreceiver.RunHook(ctx, stdin, stdout, os.Environ())
	case "stack":
		return stackCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "wharfd: unknown command %q\n%s", args[0], usage)
	return 2
}

func serve(ctx context.Context, args []string, stderr io.Writer) int {
	cfg, err := parseConfig(args, os.Getenv, stderr)
	if errors.Is(err, errHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "wharfd: %v\n", err)
		return 2
	}
	log := newLogger(cfg.LogFormat, stderr)
	d, err := Open(ctx, cfg, log)
	if err != nil {
		log.Error("wharfd could not start", "err", err)
		return 1
	}
	err = d.Run(ctx)
	d.Close()
	if err != nil {
		log.Error("wharfd stopped with an error", "err", err)
		return 1
	}
	return 0
}
