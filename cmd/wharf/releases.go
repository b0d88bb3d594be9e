package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/web"
)

// releaseCommands are the CLI verbs for releases, config, process types,
// scaling, resources and storage (issue 3).
func releaseCommands() []command {
	return []command{
		{"releases", "-a APP [--json]", "list an app's releases, newest first", releasesList},
		{"rollback", "-a APP [vN] [--json]", "deploy a new release from vN's image, config and process types (default: the previous release)", rollback},
		{"config", "-a APP [--json]", "list config vars (values masked; --json shows them)", configList},
		{"config:get", "-a APP KEY [--json]", "print one config var's value", configGet},
		{"config:set", "-a APP KEY=VALUE... [--no-restart] [--json]", "set config vars and deploy a release with them (--no-restart: at the next deploy)", configSet},
		{"config:unset", "-a APP KEY... [--no-restart] [--json]", "remove config vars and deploy a release without them", configUnset},
		{"ps:scale", "-a APP TYPE=N... [--json]", "run N processes of each type (0 stops a type)", psScale},
		{"ps:restart", "-a APP [TYPE]", "replace the app's processes (or one type's) with fresh ones, with zero downtime", psRestart},
		{"resources", "-a APP [--json]", "list process types with quantity, memory and CPUs", resourcesList},
		{"resources:set", "-a APP TYPE [--memory 256m] [--cpus 0.5] [--json]", "limit a process type's memory and CPUs (applies at the next deploy or restart)", resourcesSet},
		{"storage", "-a APP [--json]", "list the app's named volumes", storageList},
		{"storage:mount", "-a APP NAME:/PATH [--json]", "mount a named volume that survives deploys (applies at the next deploy)", storageMount},
		{"storage:unmount", "-a APP NAME", "stop mounting a volume (its data is kept)", storageUnmount},
	}
}

// appCmd parses the flags shared by the app commands: -a APP and --json.
type appCmd struct {
	fs     *flag.FlagSet
	name   *string
	asJSON *bool
	app    string
	args   []string
}

func newAppCmd(name string) *appCmd {
	fs := flagSet(name)
	return &appCmd{fs: fs, name: fs.String("a", "", "app name"), asJSON: fs.Bool("json", false, "print the API's JSON")}
}

func (a *appCmd) parse(ctx context.Context, c *cli, args []string, minArgs, maxArgs int) error {
	pos, err := parse(c, a.fs, args, minArgs, maxArgs)
	if err != nil {
		return err
	}
	a.args = pos
	a.app, err = resolveApp(ctx, *a.name)
	return err
}

func (a *appCmd) path(parts ...string) string {
	p := "/apps/" + url.PathEscape(a.app)
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	return p
}

func releasesList(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("releases")
	if err := a.parse(ctx, c, args, 0, 0); err != nil {
		return err
	}
	var rels []wharf.Release
	raw, err := c.api.get(ctx, a.path("releases"), &rels)
	if err != nil || *a.asJSON {
		return orJSON(c, raw, err)
	}
	if len(rels) == 0 {
		_, err := fmt.Fprintf(c.stdout, "%s has no releases yet. Deploy it with: git push wharf main\n", a.app)
		return err
	}
	tw := table(c.stdout)
	fmt.Fprintln(tw, "VERSION\tCREATED\tBY\tSTATUS\tDESCRIPTION")
	for _, r := range rels {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", version(r.Version), date(r.CreatedAt), r.CreatedBy, r.Status, r.Description)
	}
	return tw.Flush()
}

// orJSON prints raw for --json, or returns err.
func orJSON(c *cli, raw []byte, err error) error {
	if err != nil {
		return err
	}
	return printJSON(c.stdout, raw)
}

func rollback(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("rollback")
	if err := a.parse(ctx, c, args, 0, 1); err != nil {
		return err
	}
	v := 0
	if len(a.args) == 1 {
		n, err := strconv.Atoi(strings.TrimPrefix(strings.ToLower(a.args[0]), "v"))
		if err != nil || n <= 0 {
			return fmt.Errorf("invalid release %q: want vN, e.g. v3", a.args[0])
		}
		v = n
	}
	raw, err := c.api.do(ctx, http.MethodPost, a.path("rollback"), map[string]int{"version": v})
	if err != nil || *a.asJSON {
		return orJSON(c, raw, err)
	}
	var rel wharf.Release
	if err := decodeAnswer(raw, &rel); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s: %s, deployed as %s.\n", a.app, rel.Description, version(rel.Version))
	return err
}

func configList(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("config")
	if err := a.parse(ctx, c, args, 0, 0); err != nil {
		return err
	}
	var cfg map[string]string
	raw, err := c.api.get(ctx, a.path("config"), &cfg)
	if err != nil || *a.asJSON {
		return orJSON(c, raw, err)
	}
	if len(cfg) == 0 {
		_, err := fmt.Fprintf(c.stdout, "%s has no config vars. Set one with: wharf config:set -a %s KEY=VALUE\n", a.app, a.app)
		return err
	}
	return printConfig(c, cfg)
}

// printConfig lists keys with masked values: config:get and --json show them.
func printConfig(c *cli, cfg map[string]string) error {
	tw := table(c.stdout)
	fmt.Fprintln(tw, "KEY\tVALUE")
	for _, k := range sortedKeys(cfg) {
		fmt.Fprintf(tw, "%s\t%s\n", k, mask(cfg[k]))
	}
	return tw.Flush()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// mask hides a value; config:get and --json show it.
func mask(v string) string {
	if v == "" {
		return "(empty)"
	}
	return "********"
}

func configGet(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("config:get")
	if err := a.parse(ctx, c, args, 1, 1); err != nil {
		return err
	}
	var cfg map[string]string
	if _, err := c.api.get(ctx, a.path("config"), &cfg); err != nil {
		return err
	}
	v, ok := cfg[a.args[0]]
	if !ok {
		return fmt.Errorf("%s has no config var %s", a.app, a.args[0])
	}
	if *a.asJSON {
		b, err := json.Marshal(map[string]string{a.args[0]: v})
		return orJSON(c, b, err)
	}
	_, err := fmt.Fprintln(c.stdout, v)
	return err
}

func configSet(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("config:set")
	noRestart := a.fs.Bool("no-restart", false, "store only; applies at the next deploy")
	if err := a.parse(ctx, c, args, 1, 1000); err != nil {
		return err
	}
	set := map[string]string{}
	for _, kv := range a.args {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("config:set: %q is not KEY=VALUE", kv)
		}
		set[k] = v
	}
	return updateConfig(ctx, c, a, web.ConfigUpdate{Set: set, Restart: !*noRestart})
}

func configUnset(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("config:unset")
	noRestart := a.fs.Bool("no-restart", false, "store only; applies at the next deploy")
	if err := a.parse(ctx, c, args, 1, 1000); err != nil {
		return err
	}
	return updateConfig(ctx, c, a, web.ConfigUpdate{Unset: a.args, Restart: !*noRestart})
}

func updateConfig(ctx context.Context, c *cli, a *appCmd, u web.ConfigUpdate) error {
	raw, err := c.api.do(ctx, http.MethodPatch, a.path("config"), u)
	if err != nil || *a.asJSON {
		return orJSON(c, raw, err)
	}
	var res web.ConfigResult
	if err := decodeAnswer(raw, &res); err != nil {
		return err
	}
	switch {
	case res.Release != nil:
		fmt.Fprintf(c.stdout, "Config of %s changed; deployed as %s.\n", a.app, version(res.Release.Version))
	case u.Restart:
		fmt.Fprintf(c.stdout, "Config of %s stored; it has no release yet, the first deploy will use it.\n", a.app)
	default:
		fmt.Fprintf(c.stdout, "Config of %s stored; it applies at the next deploy.\n", a.app)
	}
	return printConfig(c, res.Config)
}

func psScale(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("ps:scale")
	if err := a.parse(ctx, c, args, 1, 100); err != nil {
		return err
	}
	qty := map[string]int{}
	for _, tn := range a.args {
		t, n, ok := strings.Cut(tn, "=")
		q, err := strconv.Atoi(n)
		if !ok || err != nil || q < 0 {
			return fmt.Errorf("ps:scale: %q is not TYPE=N with N a whole number (e.g. web=2)", tn)
		}
		qty[t] = q
	}
	var f []wharf.Formation
	raw, err := c.api.do(ctx, http.MethodPatch, a.path("formation"), map[string]any{"quantities": qty})
	if err != nil || *a.asJSON {
		return orJSON(c, raw, err)
	}
	if err := decodeAnswer(raw, &f); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Scaled %s.\n", a.app)
	return formationTable(c, f)
}

func formationTable(c *cli, fs []wharf.Formation) error {
	tw := table(c.stdout)
	fmt.Fprintln(tw, "TYPE\tQUANTITY\tMEMORY\tCPUS\tCOMMAND")
	for _, f := range fs {
		mem, cpus, cmd := "default", "no limit", f.Command
		if f.Memory > 0 {
			mem = fmt.Sprintf("%dm", f.Memory>>20)
		}
		if f.CPUs > 0 {
			cpus = strconv.FormatFloat(f.CPUs, 'g', -1, 64)
		}
		if cmd == "" {
			cmd = "(the image's command)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", f.Type, f.Quantity, mem, cpus, cmd)
	}
	return tw.Flush()
}

func psRestart(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("ps:restart")
	if err := a.parse(ctx, c, args, 0, 1); err != nil {
		return err
	}
	typ := ""
	if len(a.args) == 1 {
		typ = a.args[0]
	}
	if _, err := c.api.do(ctx, http.MethodPost, a.path("restart"), map[string]string{"type": typ}); err != nil {
		return err
	}
	what := "all processes"
	if typ != "" {
		what = typ + " processes"
	}
	_, err := fmt.Fprintf(c.stdout, "Restarted %s of %s.\n", what, a.app)
	return err
}

func resourcesList(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("resources")
	if err := a.parse(ctx, c, args, 0, 0); err != nil {
		return err
	}
	var f []wharf.Formation
	raw, err := c.api.get(ctx, a.path("formation"), &f)
	if err != nil || *a.asJSON {
		return orJSON(c, raw, err)
	}
	return formationTable(c, f)
}

func resourcesSet(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("resources:set")
	memory := a.fs.String("memory", "", "memory limit, e.g. 256m or 1g")
	cpus := a.fs.String("cpus", "", "CPU limit, e.g. 0.5")
	if err := a.parse(ctx, c, args, 1, 1); err != nil {
		return err
	}
	u := web.ResourcesUpdate{Memory: *memory}
	if *cpus != "" {
		n, err := strconv.ParseFloat(*cpus, 64)
		if err != nil {
			return fmt.Errorf("resources:set: --cpus %q is not a number (e.g. 0.5)", *cpus)
		}
		u.CPUs = &n
	}
	if u.Memory == "" && u.CPUs == nil {
		return fmt.Errorf("resources:set: give --memory and/or --cpus")
	}
	raw, err := c.api.do(ctx, http.MethodPut, a.path("formation", a.args[0]), u)
	if err != nil || *a.asJSON {
		return orJSON(c, raw, err)
	}
	var f []wharf.Formation
	if err := decodeAnswer(raw, &f); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Resources of %s %s set; they apply at the next deploy or ps:restart.\n", a.app, a.args[0])
	return formationTable(c, f)
}

func storageList(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("storage")
	if err := a.parse(ctx, c, args, 0, 0); err != nil {
		return err
	}
	var vs []wharf.Volume
	raw, err := c.api.get(ctx, a.path("storage"), &vs)
	if err != nil || *a.asJSON {
		return orJSON(c, raw, err)
	}
	if len(vs) == 0 {
		_, err := fmt.Fprintf(c.stdout, "%s has no volumes. Mount one with: wharf storage:mount -a %s NAME:/PATH\n", a.app, a.app)
		return err
	}
	tw := table(c.stdout)
	fmt.Fprintln(tw, "NAME\tPATH")
	for _, v := range vs {
		fmt.Fprintf(tw, "%s\t%s\n", v.Name, v.Path)
	}
	return tw.Flush()
}

func storageMount(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("storage:mount")
	if err := a.parse(ctx, c, args, 1, 1); err != nil {
		return err
	}
	name, path, ok := strings.Cut(a.args[0], ":")
	if !ok {
		return fmt.Errorf("storage:mount: %q is not NAME:/PATH (e.g. data:/var/lib/data)", a.args[0])
	}
	raw, err := c.api.do(ctx, http.MethodPost, a.path("storage"), wharf.Volume{Name: name, Path: path})
	if err != nil || *a.asJSON {
		return orJSON(c, raw, err)
	}
	_, err = fmt.Fprintf(c.stdout, "Volume %s will be mounted at %s in %s from the next deploy (or ps:restart).\n", name, path, a.app)
	return err
}

func storageUnmount(ctx context.Context, c *cli, args []string) error {
	a := newAppCmd("storage:unmount")
	if err := a.parse(ctx, c, args, 1, 1); err != nil {
		return err
	}
	if _, err := c.api.do(ctx, http.MethodDelete, a.path("storage", a.args[0]), nil); err != nil {
		return err
	}
	_, err := fmt.Fprintf(c.stdout, "Volume %s is no longer mounted in %s from the next deploy; its data is kept.\n", a.args[0], a.app)
	return err
}

// destroyVolumes runs before apps:destroy: with del it deletes the app's
// volumes, else it only lists them. It returns what to tell the user.
func destroyVolumes(ctx context.Context, c *cli, app string, del bool) (string, error) {
	path := "/apps/" + url.PathEscape(app) + "/storage"
	var vs []wharf.Volume
	var err error
	if del {
		var raw []byte
		if raw, err = c.api.do(ctx, http.MethodPost, path+"/destroy", nil); err == nil {
			err = decodeAnswer(raw, &vs)
		}
	} else {
		_, err = c.api.get(ctx, path, &vs)
	}
	if err != nil || len(vs) == 0 {
		return "", err
	}
	names := make([]string, 0, len(vs))
	for _, v := range vs {
		names = append(names, v.Name)
	}
	if del {
		return fmt.Sprintf("Deleted volumes %s and their data.\n", strings.Join(names, ", ")), nil
	}
	return fmt.Sprintf("Kept volumes %s: their data stays on the Docker host (pass --volumes to delete them with the app).\n", strings.Join(names, ", ")), nil
}
