package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// command is one CLI verb.
type command struct {
	name    string
	args    string // usage after the name
	summary string
	run     func(ctx context.Context, c *cli, args []string) error
}

// commands lists every verb in the order help shows them.
func commands() []command {
	cmds := coreCommands()
	for _, more := range [][]command{releaseCommands(), nodeCommands(), domainCommands(), routerCommands(), buildCommands(), activityCommands()} {
		cmds = append(cmds, more...)
	}
	return append(cmds, command{"help", "", "show this help", nil})
}

// coreCommands are the verbs for apps, processes and SSH keys.
func coreCommands() []command {
	return []command{
		{"apps", "[--json]", "list apps", appsList},
		{"apps:create", "NAME [--json]", "create an app", appsCreate},
		{"apps:info", "-a APP [--json]", "show an app's URL, git remote, release and processes", appsInfo},
		{"apps:destroy", "-a APP --confirm APP", "destroy an app, its releases and containers", appsDestroy},
		{"ps", "-a APP [--json]", "list an app's processes", ps},
		{"keys", "[--json]", "list SSH keys allowed to push", keysList},
		{"keys:add", "[FILE] [--name NAME] [--json]", "add an SSH public key (default ~/.ssh/id_ed25519.pub, id_ecdsa.pub, id_rsa.pub)", keysAdd},
		{"keys:remove", "NAME", "remove an SSH key", keysRemove},
	}
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			return c, true
		}
	}
	return command{}, false
}

func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "-help" }

// printUsage writes the usage listing.
func printUsage(w io.Writer) error {
	fmt.Fprint(w, "Usage: wharf COMMAND [ARGS]\n\nCommands:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.args, c.summary)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprint(w, `
-a APP may be left out inside a git repository whose "wharf" remote ends in /APP.git.

Environment:
  WHARF_API    the daemon's API address (default `+defaultAPI+`)
  WHARF_TOKEN  an API token; wharfd writes the admin token to admin-token in its data directory
`)
	return err
}

// errHelpShown ends a command after it printed its own help for -h.
var errHelpShown = errors.New("help shown")

// flagSet returns a quiet FlagSet for the named command.
func flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses args with flags and positional arguments in any order
// ("apps:create hello --json") and checks the number of positionals.
func parse(c *cli, fs *flag.FlagSet, args []string, minArgs, maxArgs int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, commandHelp(c, fs.Name())
			}
			return nil, fmt.Errorf("%s: %v (run 'wharf help')", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) < minArgs || len(pos) > maxArgs {
		cmd, _ := findCommand(fs.Name())
		return nil, fmt.Errorf("usage: wharf %s %s", cmd.name, cmd.args)
	}
	return pos, nil
}

// commandHelp prints one command's usage line.
func commandHelp(c *cli, name string) error {
	cmd, _ := findCommand(name)
	fmt.Fprintf(c.stdout, "Usage: wharf %s %s\n\n%s\n", cmd.name, strings.TrimSpace(cmd.args), cmd.summary)
	return errHelpShown
}
