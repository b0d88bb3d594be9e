package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/web"
)

// domainCommands are the CLI verbs for domains, certificates and router logs (issue 4).
func domainCommands() []command {
	return []command{
		{"domains", "-a APP [--json]", "list an app's custom domains", domainsList},
		{"domains:add", "-a APP DOMAIN [--json]", "route DOMAIN (www.example.com or *.example.com) to an app", domainsAdd},
		{"domains:remove", "-a APP DOMAIN", "stop routing DOMAIN to an app", domainsRemove},
		{"certs", "-a APP [--json]", "list an app's TLS certificates", certsList},
		{"certs:add", "-a APP CERT.pem KEY.pem [--json]", "serve your own certificate for the app's domains over HTTPS", certsAdd},
		{"certs:redirect", "-a APP on|off", "redirect the app's plain-HTTP requests to HTTPS (308)", certsRedirect},
	}
}

// appArgs parses -a APP (or the git remote) and the positionals.
func appArgs(ctx context.Context, c *cli, name string, args []string, nargs int) (app string, pos []string, asJSON bool, err error) {
	fs := flagSet(name)
	a := fs.String("a", "", "app name")
	j := fs.Bool("json", false, "print the API's JSON")
	if pos, err = parse(c, fs, args, nargs, nargs); err != nil {
		return "", nil, false, err
	}
	app, err = resolveApp(ctx, *a)
	return app, pos, *j, err
}

// domainsList is `wharf domains -a APP`.
func domainsList(ctx context.Context, c *cli, args []string) error {
	app, _, asJSON, err := appArgs(ctx, c, "domains", args, 0)
	if err != nil {
		return err
	}
	var ds []web.Domain
	raw, err := c.api.get(ctx, "/apps/"+url.PathEscape(app)+"/domains", &ds)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(c.stdout, raw)
	}
	if len(ds) == 0 {
		_, err := fmt.Fprintf(c.stdout, "%s has no custom domains. Add one with: wharf domains:add -a %s www.example.com\n", app, app)
		return err
	}
	tw := table(c.stdout)
	fmt.Fprintln(tw, "DOMAIN\tADDED")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%s\n", d.Hostname, date(d.CreatedAt))
	}
	return tw.Flush()
}

// domainsAdd is `wharf domains:add -a APP DOMAIN`.
func domainsAdd(ctx context.Context, c *cli, args []string) error {
	app, pos, asJSON, err := appArgs(ctx, c, "domains:add", args, 1)
	if err != nil {
		return err
	}
	raw, err := c.api.do(ctx, http.MethodPost, "/apps/"+url.PathEscape(app)+"/domains", map[string]string{"hostname": pos[0]})
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(c.stdout, raw)
	}
	var d web.Domain
	if err := decodeAnswer(raw, &d); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "Added %s to %s. Point its DNS at this Wharf's router.\n", d.Hostname, app)
	return err
}

// domainsRemove is `wharf domains:remove -a APP DOMAIN`.
func domainsRemove(ctx context.Context, c *cli, args []string) error {
	app, pos, _, err := appArgs(ctx, c, "domains:remove", args, 1)
	if err != nil {
		return err
	}
	path := "/apps/" + url.PathEscape(app) + "/domains/" + url.PathEscape(pos[0])
	if _, err := c.api.do(ctx, http.MethodDelete, path, nil); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "Removed %s from %s.\n", pos[0], app)
	return err
}

// routerEntry is one access-log entry as wharfd stores it.
type routerEntry struct {
	Time       time.Time `json:"time"`
	Host       string    `json:"host"`
	Method     string    `json:"method"`
	Path       string    `json:"path"`
	Status     int       `json:"status"`
	DurationMS float64   `json:"duration_ms"`
	Bytes      int64     `json:"bytes"`
	RequestID  string    `json:"request_id"`
}

// routerLogs prints app's newest n router access-log entries, oldest
// first, one line each (`wharf logs -a APP --router [-n N]`); asJSON
// prints the entries as the API gives them.
func routerLogs(ctx context.Context, c *cli, app string, n int, asJSON bool) error {
	q := ""
	if n > 0 {
		q = "?n=" + strconv.Itoa(min(n, web.MaxRouterLogs))
	}
	var entries []json.RawMessage
	raw, err := c.api.get(ctx, "/apps/"+url.PathEscape(app)+"/router-logs"+q, &entries)
	if err != nil || asJSON {
		if err == nil {
			err = printJSON(c.stdout, raw)
		}
		return err
	}
	for _, b := range entries {
		var e routerEntry
		if err := json.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("the API answered an access-log entry that is not the expected JSON: %v", err)
		}
		fmt.Fprintf(c.stdout, "%s %s %s %s%s %d %.1fms %dB %s\n", e.Time.UTC().Format(time.RFC3339Nano),
			app, e.Method, e.Host, e.Path, e.Status, e.DurationMS, e.Bytes, e.RequestID)
	}
	return nil
}

// certsList is `wharf certs -a APP`.
func certsList(ctx context.Context, c *cli, args []string) error {
	app, _, asJSON, err := appArgs(ctx, c, "certs", args, 0)
	if err != nil {
		return err
	}
	var cs []web.Certificate
	raw, err := c.api.get(ctx, "/apps/"+url.PathEscape(app)+"/certs", &cs)
	if err != nil || asJSON {
		if err == nil {
			err = printJSON(c.stdout, raw)
		}
		return err
	}
	if len(cs) == 0 {
		_, err := fmt.Fprintf(c.stdout, "%s has no certificates. Add one with: wharf certs:add -a %s cert.pem key.pem\n", app, app)
		return err
	}
	tw := table(c.stdout)
	fmt.Fprintln(tw, "NAMES\tEXPIRES\tADDED")
	for _, ct := range cs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", strings.Join(ct.Names, ", "), date(ct.NotAfter), date(ct.CreatedAt))
	}
	return tw.Flush()
}

// certsAdd is `wharf certs:add -a APP CERT.pem KEY.pem`.
func certsAdd(ctx context.Context, c *cli, args []string) error {
	app, pos, asJSON, err := appArgs(ctx, c, "certs:add", args, 2)
	if err != nil {
		return err
	}
	var pems [2]string
	for i, path := range pos {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading %s: %v", path, err)
		}
		pems[i] = string(b)
	}
	raw, err := c.api.do(ctx, http.MethodPost, "/apps/"+url.PathEscape(app)+"/certs", map[string]string{"cert_pem": pems[0], "key_pem": pems[1]})
	if err != nil || asJSON {
		if err == nil {
			err = printJSON(c.stdout, raw)
		}
		return err
	}
	var ct web.Certificate
	if err := decodeAnswer(raw, &ct); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "Added a certificate for %s to %s, valid until %s.\n", strings.Join(ct.Names, ", "), app, date(ct.NotAfter))
	return err
}

// certsRedirect is `wharf certs:redirect -a APP on|off`.
func certsRedirect(ctx context.Context, c *cli, args []string) error {
	app, pos, _, err := appArgs(ctx, c, "certs:redirect", args, 1)
	if err != nil {
		return err
	}
	if pos[0] != "on" && pos[0] != "off" {
		return fmt.Errorf("usage: wharf certs:redirect -a APP on|off")
	}
	body := map[string]bool{"enabled": pos[0] == "on"}
	if _, err := c.api.do(ctx, http.MethodPut, "/apps/"+url.PathEscape(app)+"/https-redirect", body); err != nil {
		return err
	}
	msg := "HTTP requests for %s are now redirected to HTTPS.\n"
	if pos[0] == "off" {
		msg = "HTTP requests for %s are served over HTTP again.\n"
	}
	_, err = fmt.Fprintf(c.stdout, msg, app)
	return err
}
