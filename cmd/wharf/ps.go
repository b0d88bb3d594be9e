package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/wharfhq/wharf"
)

// ps is `wharf ps -a APP`.
func ps(ctx context.Context, c *cli, args []string) error {
	fs := flagSet("ps")
	name := fs.String("a", "", "app name")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if _, err := parse(c, fs, args, 0, 0); err != nil {
		return err
	}
	app, err := resolveApp(ctx, *name)
	if err != nil {
		return err
	}
	var procs []wharf.Process
	raw, err := c.api.get(ctx, "/apps/"+url.PathEscape(app)+"/ps", &procs)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(c.stdout, raw)
	}
	if len(procs) == 0 {
		_, err := fmt.Fprintf(c.stdout, "%s has no processes. Deploy it with: git push wharf main\n", app)
		return err
	}
	if err := processTable(c.stdout, c.now(), "", procs); err != nil {
		return err
	}
	return crashes(c, procs)
}

// crashes explains processes that stopped: exit code, OOM and last lines.
func crashes(c *cli, procs []wharf.Process) error {
	for _, p := range procs {
		if p.State == "running" || (p.ExitCode == 0 && !p.OOMKilled && p.LastLog == "") {
			continue
		}
		why := fmt.Sprintf("code %d", p.ExitCode)
		if p.OOMKilled {
			why += " (out of memory)"
		}
		fmt.Fprintf(c.stdout, "\n%s.%d %s with %s", p.Type, p.Instance, p.State, why)
		if log := strings.TrimRight(p.LastLog, "\n"); log != "" {
			fmt.Fprintf(c.stdout, "; last log lines:\n  %s", strings.ReplaceAll(log, "\n", "\n  "))
		}
		fmt.Fprintln(c.stdout)
	}
	return nil
}
