package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/wharfhq/wharf/web"
)

// appsList is `wharf apps`.
func appsList(ctx context.Context, c *cli, args []string) error {
	fs := flagSet("apps")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if _, err := parse(c, fs, args, 0, 0); err != nil {
		return err
	}
	var apps []web.AppInfo
	raw, err := c.api.get(ctx, "/apps", &apps)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(c.stdout, raw)
	}
	if len(apps) == 0 {
		_, err := fmt.Fprintln(c.stdout, "No apps yet. Create one with: wharf apps:create NAME")
		return err
	}
	tw := table(c.stdout)
	fmt.Fprintln(tw, "NAME\tRELEASE\tPROCESSES\tURL")
	for _, a := range apps {
		rel := "-"
		if a.Release != nil {
			rel = version(a.Release.Version)
		}
		running := 0
		for _, p := range a.Processes {
			if p.State == "running" {
				running++
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d running\t%s\n", a.Name, rel, running, len(a.Processes), a.URL)
	}
	return tw.Flush()
}

// appsCreate is `wharf apps:create NAME`.
func appsCreate(ctx context.Context, c *cli, args []string) error {
	fs := flagSet("apps:create")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	pos, err := parse(c, fs, args, 1, 1)
	if err != nil {
		return err
	}
	raw, err := c.api.do(ctx, http.MethodPost, "/apps", map[string]string{"name": pos[0]})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(c.stdout, raw)
	}
	var app web.AppInfo
	if err := decodeAnswer(raw, &app); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Created app %s.\n", app.Name)
	tw := table(c.stdout)
	fmt.Fprintf(tw, "  URL:\t%s\n  Git remote:\t%s\n", app.URL, app.GitRemote)
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "\nDeploy it with:\n  git remote add wharf %s\n  git push wharf main\n", app.GitRemote)
	return err
}

// appsInfo is `wharf apps:info -a APP`.
func appsInfo(ctx context.Context, c *cli, args []string) error {
	fs := flagSet("apps:info")
	name := fs.String("a", "", "app name")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if _, err := parse(c, fs, args, 0, 0); err != nil {
		return err
	}
	app, err := resolveApp(ctx, *name)
	if err != nil {
		return err
	}
	var info web.AppInfo
	raw, err := c.api.get(ctx, "/apps/"+url.PathEscape(app), &info)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(c.stdout, raw)
	}
	return printAppInfo(c, info)
}

func printAppInfo(c *cli, info web.AppInfo) error {
	fmt.Fprintf(c.stdout, "=== %s\n", info.Name)
	tw := table(c.stdout)
	fmt.Fprintf(tw, "URL:\t%s\nGit remote:\t%s\nCreated:\t%s\n", info.URL, info.GitRemote, date(info.CreatedAt))
	if r := info.Release; r != nil {
		fmt.Fprintf(tw, "Release:\t%s (%s) %s\n", version(r.Version), r.Status, date(r.CreatedAt))
		fmt.Fprintf(tw, "Image:\t%s\n", r.Image)
		if r.Commit != "" {
			fmt.Fprintf(tw, "Commit:\t%s\n", r.Commit)
		}
	} else {
		fmt.Fprintf(tw, "Release:\tnone yet (git push wharf main)\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(info.Processes) == 0 {
		_, err := fmt.Fprintln(c.stdout, "Processes: none")
		return err
	}
	fmt.Fprintln(c.stdout, "Processes:")
	return processTable(c.stdout, c.now(), "  ", info.Processes)
}

// appsDestroy is `wharf apps:destroy -a APP --confirm APP`.
func appsDestroy(ctx context.Context, c *cli, args []string) error {
	fs := flagSet("apps:destroy")
	name := fs.String("a", "", "app name")
	confirm := fs.String("confirm", "", "the app name again, to confirm")
	volumes := fs.Bool("volumes", false, "also delete the app's named volumes and their data")
	if _, err := parse(c, fs, args, 0, 0); err != nil {
		return err
	}
	app, err := resolveApp(ctx, *name)
	if err != nil {
		return err
	}
	if *confirm != app {
		what := "this"
		if *confirm != "" {
			what = fmt.Sprintf("--confirm %q does not match the app name, and this", *confirm)
		}
		return fmt.Errorf("%s would destroy %s, its releases and containers; to go ahead, run: wharf apps:destroy -a %s --confirm %s", what, app, app, app)
	}
	vols, err := destroyVolumes(ctx, c, app, *volumes)
	if err != nil {
		return err
	}
	if _, err := c.api.do(ctx, http.MethodDelete, "/apps/"+url.PathEscape(app), nil); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "Destroyed app %s.\n%s", app, vols)
	return err
}
