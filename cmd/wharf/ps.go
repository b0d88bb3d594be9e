package main

import (
	"context"
	"fmt"
	"net/url"

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
	return processTable(c.stdout, c.now(), "", procs)
}
