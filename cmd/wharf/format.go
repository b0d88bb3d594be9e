package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/wharfhq/wharf"
)

// table returns a tabwriter for aligned columns; Flush it when done.
func table(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// processTable prints processes as PROCESS STATE RELEASE UPTIME RESTARTS
// CONTAINER, with NODE before CONTAINER when any runs on a swarm node,
// each line prefixed by indent.
func processTable(w io.Writer, now time.Time, indent string, ps []wharf.Process) error {
	nodes := slices.ContainsFunc(ps, func(p wharf.Process) bool { return p.Node != "" })
	tw := table(w)
	fmt.Fprintf(tw, "%sPROCESS\tSTATE\tRELEASE\tUPTIME\tRESTARTS\t", indent)
	if nodes {
		fmt.Fprint(tw, "NODE\t")
	}
	fmt.Fprintln(tw, "CONTAINER")
	for _, p := range ps {
		up := "-"
		if p.State == "running" {
			up = uptime(now, p.StartedAt)
		}
		fmt.Fprintf(tw, "%s%s.%d\t%s\t%s\t%s\t%d\t", indent, p.Type, p.Instance, p.State, version(p.Release), up, p.Restarts)
		if nodes {
			fmt.Fprintf(tw, "%s\t", dash(p.Node))
		}
		fmt.Fprintln(tw, p.ContainerName)
	}
	return tw.Flush()
}

// uptime prints how long ago started was, to two units: 45s, 12m3s, 5h2m, 3d4h.
func uptime(now, started time.Time) string {
	if started.IsZero() {
		return "-"
	}
	d := max(now.Sub(started), 0).Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

// version prints a release number as v3, or "-" for none.
func version(n int) string {
	if n <= 0 {
		return "-"
	}
	return fmt.Sprintf("v%d", n)
}

// date prints a timestamp for humans, in local time.
func date(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}
