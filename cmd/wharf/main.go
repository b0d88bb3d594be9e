// Command wharf is Wharf's command-line client. It speaks only the daemon's
// HTTP API (WHARF_API, authenticated by WHARF_TOKEN) and owns how results
// look to a person: aligned columns, one-line errors, and --json for
// scripts.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// cli is what every command gets: where to print, the API client and the
// environment.
type cli struct {
	stdout io.Writer
	api    *client
	env    func(string) string
	now    func() time.Time
}

// run runs the command in args (without the program name) and returns the
// exit code. Errors are printed to stderr as one line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) int {
	if err := dispatch(ctx, args, stdout, env); err != nil {
		fmt.Fprintf(stderr, "wharf: %s\n", oneLine(err.Error()))
		return 1
	}
	return 0
}

func dispatch(ctx context.Context, args []string, stdout io.Writer, env func(string) string) error {
	if len(args) == 0 || isHelp(args[0]) || args[0] == "help" {
		return printUsage(stdout)
	}
	cmd, ok := findCommand(args[0])
	if !ok {
		return fmt.Errorf("unknown command %q: run 'wharf help' for the list", args[0])
	}
	api, err := newClient(env)
	if err != nil {
		return err
	}
	c := &cli{stdout: stdout, api: api, env: env, now: time.Now}
	if err := cmd.run(ctx, c, args[1:]); err != nil {
		if errors.Is(err, errHelpShown) {
			return nil
		}
		return err
	}
	return nil
}

// oneLine folds a message onto one line, so stderr always gets exactly one.
func oneLine(msg string) string {
	return strings.Join(strings.Fields(msg), " ")
}
