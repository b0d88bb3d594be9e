package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/wharfhq/wharf"
)

// buildCommands are the CLI verbs for builds and the build cache (issue 5).
func buildCommands() []command {
	return []command{
		{"builds", "-a APP [--json]", "list an app's builds, newest first", buildsList},
		{"builds:output", "-a APP [ID] [--json]", "print a build's output (default: the newest build)", buildsOutput},
		{"builds:cache:purge", "-a APP", "delete the app's build cache: the next build starts from scratch", buildsCachePurge},
	}
}

func buildsList(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("builds")
	if err := a.parse(ctx, c, args, 0, 0); err != nil {
		return err
	}
	var builds []wharf.Build
	raw, err := c.api.get(ctx, a.path("builds"), &builds)
	if err != nil || *a.asJSON {
		return orJSON(c, raw, err)
	}
	if len(builds) == 0 {
		_, err := fmt.Fprintf(c.stdout, "%s has no builds yet. Deploy it with: git push wharf main\n", a.app)
		return err
	}
	tw := table(c.stdout)
	fmt.Fprintln(tw, "ID\tSTARTED\tCOMMIT\tSTATUS\tDURATION\tIMAGE")
	for _, b := range builds {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", b.ID, date(b.StartedAt), shortSHA(b.Commit), b.Status, buildDuration(b), orDash(b.Image))
	}
	return tw.Flush()
}

func buildsOutput(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("builds:output")
	if err := a.parse(ctx, c, args, 0, 1); err != nil {
		return err
	}
	id := "latest"
	if len(a.args) == 1 {
		if n, err := strconv.ParseInt(a.args[0], 10, 64); err != nil || n <= 0 {
			return fmt.Errorf("invalid build id %q: see wharf builds -a %s", a.args[0], a.app)
		}
		id = a.args[0]
	}
	var b wharf.Build
	raw, err := c.api.get(ctx, a.path("builds", id), &b)
	if err != nil || *a.asJSON {
		return orJSON(c, raw, err)
	}
	_, err = fmt.Fprint(c.stdout, b.Output)
	return err
}

func buildsCachePurge(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("builds:cache:purge")
	if err := a.parse(ctx, c, args, 0, 0); err != nil {
		return err
	}
	if _, err := c.api.do(ctx, http.MethodDelete, a.path("build-cache"), nil); err != nil {
		return err
	}
	_, err := fmt.Fprintf(c.stdout, "Purged the build cache of %s: the next build starts from scratch.\n", a.app)
	return err
}

func buildDuration(b wharf.Build) string {
	if b.FinishedAt.IsZero() {
		return "running"
	}
	return b.FinishedAt.Sub(b.StartedAt).Round(100 * time.Millisecond).String()
}

func shortSHA(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
