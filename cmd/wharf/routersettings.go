package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/web"
)

// routerCommands are the CLI verbs for an app's router settings.
func routerCommands() []command {
	return []command{
		{"router", "-a APP [--json]", "show an app's router settings: request body limit and timeout", routerShow},
		{"router:set", "-a APP KEY=VALUE... [--json]", "set body-limit=50m (k, m, g: 1024-based) or timeout=90s (1s..1h) for an app; KEY= resets one to the default", routerSet},
	}
}

// routerShow is `wharf router -a APP`.
func routerShow(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("router")
	if err := a.parse(ctx, c, args, 0, 0); err != nil {
		return err
	}
	var rs web.RouterSettings
	raw, err := c.api.get(ctx, a.path("router"), &rs)
	if err != nil || *a.asJSON {
		return orJSON(c, raw, err)
	}
	return printRouterSettings(c, rs)
}

// routerSet is `wharf router:set -a APP body-limit=50m timeout=90s`.
func routerSet(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("router:set")
	if err := a.parse(ctx, c, args, 1, 100); err != nil {
		return err
	}
	set := map[string]string{}
	for _, kv := range a.args {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("router:set: %q is not KEY=VALUE (keys: %s)", kv, strings.Join(wharf.RouterKeys(), ", "))
		}
		set[k] = v
	}
	raw, err := c.api.do(ctx, http.MethodPatch, a.path("router"), set)
	if err != nil || *a.asJSON {
		return orJSON(c, raw, err)
	}
	var rs web.RouterSettings
	if err := decodeAnswer(raw, &rs); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Router settings of %s changed; every router node applies them within seconds.\n", a.app)
	return printRouterSettings(c, rs)
}

// printRouterSettings writes one line per setting: its effective value,
// marked when it is the default, and the default.
func printRouterSettings(c *cli, rs web.RouterSettings) error {
	tw := table(c.stdout)
	fmt.Fprintln(tw, "SETTING\tVALUE\tDEFAULT")
	for _, s := range rs.Settings {
		v := s.Value
		if v == "" {
			v = s.Effective + " (default)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Key, v, s.Default)
	}
	return tw.Flush()
}
