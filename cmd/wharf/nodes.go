package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/web"
)

// nodeCommands are the CLI verbs for a swarm's nodes and an app's placement.
func nodeCommands() []command {
	return []command{
		{"nodes", "[--json]", "list the swarm's nodes and this installation's tasks on each (admins; needs wharfd serve --scheduler swarm)", nodesList},
		{"nodes:drain", "NODE [--json]", "move every task off a node (id or hostname) with no failed request, then set it to drain (admins)", nodesDrain},
		{"nodes:activate", "NODE [--json]", "let tasks be scheduled on a node again (admins)", nodesActivate},
		{"ps:placement", "-a APP [CONSTRAINT...] [--clear] [--json]", "show or replace the nodes an app may run on, e.g. node.labels.tier==web node.role!=manager", psPlacement},
	}
}

// drainWait bounds nodes:drain, which answers when the drain is over
// (the daemon gives it 30 minutes).
const drainWait = 35 * time.Minute

// nodesList is `wharf nodes`.
func nodesList(ctx context.Context, c *cli, args []string) error {
	fs := flagSet("nodes")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if _, err := parse(c, fs, args, 0, 0); err != nil {
		return err
	}
	var nodes []wharf.Node
	raw, err := c.api.get(ctx, "/nodes", &nodes)
	if err != nil || *asJSON {
		return orJSON(c, raw, err)
	}
	tw := table(c.stdout)
	fmt.Fprintln(tw, "ID\tHOSTNAME\tROLE\tSTATE\tAVAILABILITY\tADDRESS\tENGINE\tTASKS")
	for _, n := range nodes {
		role := n.Role
		if n.Leader {
			role += " (leader)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", shortID(n.ID), n.Hostname, role, n.State, n.Availability, dash(n.Addr), dash(n.Engine), n.Tasks)
	}
	return tw.Flush()
}

// shortID is the first 12 characters of a node id, as docker node ls shows it.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// nodesDrain is `wharf nodes:drain NODE`.
func nodesDrain(ctx context.Context, c *cli, args []string) error {
	return nodeAction(ctx, c, "nodes:drain", "drain", args)
}

// nodesActivate is `wharf nodes:activate NODE`.
func nodesActivate(ctx context.Context, c *cli, args []string) error {
	return nodeAction(ctx, c, "nodes:activate", "activate", args)
}

// nodeAction POSTs /nodes/NODE/verb and prints the progress lines.
func nodeAction(ctx context.Context, c *cli, name, verb string, args []string) error {
	fs := flagSet(name)
	asJSON := fs.Bool("json", false, "print the API's JSON")
	pos, err := parse(c, fs, args, 1, 1)
	if err != nil {
		return err
	}
	api := *c.api
	api.http = &http.Client{Transport: c.api.http.Transport, Timeout: drainWait}
	raw, err := api.do(ctx, http.MethodPost, "/nodes/"+url.PathEscape(pos[0])+"/"+verb, nil)
	if err != nil || *asJSON {
		return orJSON(c, raw, err)
	}
	var res web.NodeAction
	if err := decodeAnswer(raw, &res); err != nil {
		return err
	}
	for _, l := range res.Output {
		fmt.Fprintln(c.stdout, l)
	}
	return nil
}

// psPlacement is `wharf ps:placement -a APP [CONSTRAINT...] [--clear]`.
func psPlacement(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("ps:placement")
	clearAll := a.fs.Bool("clear", false, "remove every constraint: run on any node")
	if err := a.parse(ctx, c, args, 0, wharf.MaxPlacement); err != nil {
		return err
	}
	if *clearAll && len(a.args) > 0 {
		return fmt.Errorf("ps:placement: give constraints or --clear, not both")
	}
	var (
		raw []byte
		err error
		p   web.Placement
	)
	if len(a.args) == 0 && !*clearAll {
		raw, err = c.api.get(ctx, a.path("placement"), &p)
		if err != nil || *a.asJSON {
			return orJSON(c, raw, err)
		}
		return printPlacement(c, p)
	}
	constraints := append([]string{}, a.args...)
	raw, err = c.api.do(ctx, http.MethodPut, a.path("placement"), map[string][]string{"constraints": constraints})
	if err != nil || *a.asJSON {
		return orJSON(c, raw, err)
	}
	if err := decodeAnswer(raw, &p); err != nil {
		return err
	}
	if len(p.Constraints) == 0 {
		fmt.Fprintf(c.stdout, "Placement of %s cleared: its processes may run on any node.\n", p.App)
	} else {
		fmt.Fprintf(c.stdout, "Placement of %s set: %s.\n", p.App, strings.Join(p.Constraints, " "))
	}
	if p.Applied {
		fmt.Fprintln(c.stdout, "Applied to the running release:")
		for _, l := range p.Output {
			fmt.Fprintln(c.stdout, "  "+l)
		}
	}
	if p.Note != "" {
		fmt.Fprintf(c.stdout, "Note: %s.\n", p.Note)
	}
	return nil
}

// printPlacement shows an app's constraints, one a line.
func printPlacement(c *cli, p web.Placement) error {
	if len(p.Constraints) == 0 {
		fmt.Fprintf(c.stdout, "%s has no placement constraints: its processes may run on any node.\n", p.App)
	} else {
		fmt.Fprintf(c.stdout, "%s runs only on nodes where:\n", p.App)
		for _, x := range p.Constraints {
			fmt.Fprintln(c.stdout, "  "+x)
		}
	}
	if p.Note != "" {
		fmt.Fprintf(c.stdout, "Note: %s.\n", p.Note)
	}
	return nil
}
