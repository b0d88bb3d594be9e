package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/docker/docker/client"

	"github.com/wharfhq/wharf/builder"
)

// stackCmd runs `wharfd stack build`: makes (or confirms) the stack images
// buildpack builds use, with progress on stdout.
func stackCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "build" {
		fmt.Fprintln(stderr, "wharfd: usage: wharfd stack build")
		return 2
	}
	fs := flag.NewFlagSet("wharfd stack build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		fmt.Fprintf(stderr, "wharfd: docker: %v\n", err)
		return 1
	}
	defer cli.Close()
	opts, err := builderOptions(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "wharfd: %v\n", err)
		return 2
	}
	b := builder.New(cli, slog.New(slog.NewTextHandler(stderr, nil)), opts...)
	start := time.Now()
	st, err := b.EnsureStack(ctx, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "wharfd: stack build: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "-----> Stack ready in %s: %s, %s\n", time.Since(start).Round(time.Millisecond), st.Build, st.Run)
	return 0
}
