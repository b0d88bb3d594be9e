package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/web"
)

// activityCommands are the CLI verbs for logs, activity, users and access (issue 6).
func activityCommands() []command {
	return []command{
		{"logs", "-a APP [-n 200] [-t] [--process web] [--router]", "show an app's output, every process merged in time order; -t follows live", logsCmd},
		{"activity", "[-a APP] [-n 50] [--json]", "show who did what: pushes, releases, config changes, scaling, access", activityCmd},
		{"users", "[--json]", "list users, their roles and apps (admins)", usersList},
		{"users:add", "NAME [--role member|admin] [--password PW]", "add a user; prints its API token once (admins)", usersAdd},
		{"users:passwd", "[NAME] --password PW", "change your password (or, as admin, anyone's)", usersPasswd},
		{"access:add", "-a APP USER", "let a member see and change an app (admins)", accessAdd},
		{"access:remove", "-a APP USER", "take an app away from a member (admins)", accessRemove},
	}
}

// logsCmd is `wharf logs`.
func logsCmd(ctx context.Context, c *cli, args []string) error {
	fs := flagSet("logs")
	name := fs.String("a", "", "app name")
	n := fs.Int("n", 100, "number of lines")
	tail := fs.Bool("t", false, "follow")
	process := fs.String("process", "", "only this process type (web) or process (web.1)")
	router := fs.Bool("router", false, "the router's access log instead")
	asJSON := fs.Bool("json", false, "print JSON lines")
	if _, err := parse(c, fs, args, 0, 0); err != nil {
		return err
	}
	app, err := resolveApp(ctx, *name)
	if err != nil {
		return err
	}
	if *router {
		return routerLogs(ctx, c, app, *n, *asJSON)
	}
	q := url.Values{"n": {strconv.Itoa(*n)}}
	if *process != "" {
		q.Set("process", *process)
	}
	path := "/apps/" + url.PathEscape(app) + "/logs?"
	if !*tail {
		var lines []web.LogLine
		raw, err := c.api.get(ctx, path+q.Encode(), &lines)
		if err != nil || *asJSON {
			if err == nil {
				err = printJSON(c.stdout, raw)
			}
			return err
		}
		for _, l := range lines {
			printLogLine(c, l)
		}
		return nil
	}
	q.Set("follow", "1")
	return followLogs(ctx, c, path, q, *asJSON)
}

// followLogs prints lines as they come and, when the daemon restarts,
// reconnects and goes on after the last line printed.
func followLogs(ctx context.Context, c *cli, path string, q url.Values, asJSON bool) error {
	var last int64
	failing := time.Time{}
	for {
		err := c.api.stream(ctx, path+q.Encode(), func(b []byte) error {
			var l web.LogLine
			if err := json.Unmarshal(b, &l); err != nil {
				return fmt.Errorf("the API sent a line that is not a log line: %v", err)
			}
			last, failing = l.ID, time.Time{}
			if asJSON {
				_, err := fmt.Fprintf(c.stdout, "%s\n", b)
				return err
			}
			printLogLine(c, l)
			return nil
		})
		if ctx.Err() != nil {
			return nil
		}
		if code := wharf.ErrorCode(err); err != nil && code != wharf.EINTERNAL && code != wharf.EUNAVAILABLE {
			return err // refused (not found, forbidden...): retrying won't help
		}
		if failing.IsZero() {
			failing = time.Now()
		} else if err != nil && time.Since(failing) > time.Minute {
			return err
		}
		if last > 0 { // everything since the last line printed
			q.Set("after", strconv.FormatInt(last, 10))
			q.Set("n", "10000")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func printLogLine(c *cli, l web.LogLine) {
	fmt.Fprintf(c.stdout, "%s %s: %s\n", l.Time.Local().Format("2006-01-02T15:04:05.000Z07:00"), l.Process, l.Line)
}

// stream GETs path and calls fn with each line of the answer until it ends
// or ctx does.
func (c *client) stream(ctx context.Context, path string, fn func([]byte) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1"+path, nil)
	if err != nil {
		return fmt.Errorf("building the request: %w", err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := (&http.Client{Transport: c.http.Transport}).Do(req)
	if err != nil {
		return c.networkError(ctx, err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		body := make([]byte, 64<<10)
		k, _ := res.Body.Read(body)
		return c.apiError(res, body[:k])
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil // interrupted: a normal end of following
	}
	return sc.Err()
}

// activityCmd is `wharf activity`.
func activityCmd(ctx context.Context, c *cli, args []string) error {
	fs := flagSet("activity")
	app := fs.String("a", "", "app name (default: every app you can see)")
	n := fs.Int("n", 50, "number of events")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if _, err := parse(c, fs, args, 0, 0); err != nil {
		return err
	}
	path := "/activity?n=" + strconv.Itoa(*n)
	if *app != "" {
		path = "/apps/" + url.PathEscape(*app) + "/activity?n=" + strconv.Itoa(*n)
	}
	var events []web.Event
	raw, err := c.api.get(ctx, path, &events)
	if err != nil || *asJSON {
		if err == nil {
			err = printJSON(c.stdout, raw)
		}
		return err
	}
	if len(events) == 0 {
		_, err := fmt.Fprintln(c.stdout, "No activity yet.")
		return err
	}
	tw := table(c.stdout)
	fmt.Fprintln(tw, "WHEN\tAPP\tWHO\tWHAT")
	for _, e := range events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Time.Local().Format(time.DateTime), dash(e.App), dash(e.Actor), e.Message)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// usersList is `wharf users`.
func usersList(ctx context.Context, c *cli, args []string) error {
	fs := flagSet("users")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if _, err := parse(c, fs, args, 0, 0); err != nil {
		return err
	}
	var users []web.User
	raw, err := c.api.get(ctx, "/users", &users)
	if err != nil || *asJSON {
		if err == nil {
			err = printJSON(c.stdout, raw)
		}
		return err
	}
	tw := table(c.stdout)
	fmt.Fprintln(tw, "NAME\tROLE\tAPPS")
	for _, u := range users {
		apps := strings.Join(u.Apps, ", ")
		if u.Admin() {
			apps = "(all)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, u.Role, dash(apps))
	}
	return tw.Flush()
}

// usersAdd is `wharf users:add NAME`.
func usersAdd(ctx context.Context, c *cli, args []string) error {
	fs := flagSet("users:add")
	role := fs.String("role", "member", "admin or member")
	password := fs.String("password", "", "dashboard password (8+ characters; default: a random one, printed)")
	pos, err := parse(c, fs, args, 1, 1)
	if err != nil {
		return err
	}
	pw := *password
	if pw == "" {
		pw = randomPassword()
	}
	var out struct {
		web.User
		Token string `json:"token"`
	}
	b, err := c.api.do(ctx, http.MethodPost, "/users", map[string]string{"name": pos[0], "role": *role, "password": pw})
	if err == nil {
		err = decodeAnswer(b, &out)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Added %s (%s).\n", out.Name, out.Role)
	if *password == "" {
		fmt.Fprintf(c.stdout, "Dashboard password: %s\n", pw)
	}
	_, err = fmt.Fprintf(c.stdout, "API token (shown once; use it as WHARF_TOKEN): %s\n", out.Token)
	return err
}

// usersPasswd is `wharf users:passwd [NAME] --password PW`.
func usersPasswd(ctx context.Context, c *cli, args []string) error {
	fs := flagSet("users:passwd")
	password := fs.String("password", "", "the new password (8+ characters)")
	pos, err := parse(c, fs, args, 0, 1)
	if err != nil {
		return err
	}
	if *password == "" {
		return fmt.Errorf("usage: wharf users:passwd [NAME] --password PW")
	}
	name := ""
	if len(pos) == 1 {
		name = pos[0]
	} else {
		var me web.User
		if _, err := c.api.get(ctx, "/user", &me); err != nil {
			return err
		}
		name = me.Name
	}
	if _, err := c.api.do(ctx, http.MethodPut, "/users/"+url.PathEscape(name)+"/password", map[string]string{"password": *password}); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "Changed the password of %s.\n", name)
	return err
}

func accessAdd(ctx context.Context, c *cli, args []string) error {
	return access(ctx, c, "access:add", http.MethodPut, args)
}

func accessRemove(ctx context.Context, c *cli, args []string) error {
	return access(ctx, c, "access:remove", http.MethodDelete, args)
}

func access(ctx context.Context, c *cli, verb, method string, args []string) error {
	fs := flagSet(verb)
	name := fs.String("a", "", "app name")
	pos, err := parse(c, fs, args, 1, 1)
	if err != nil {
		return err
	}
	app, err := resolveApp(ctx, *name)
	if err != nil {
		return err
	}
	if _, err := c.api.do(ctx, method, "/apps/"+url.PathEscape(app)+"/access/"+url.PathEscape(pos[0]), nil); err != nil {
		return err
	}
	what := "can now see and change"
	if method == http.MethodDelete {
		what = "no longer has access to"
	}
	_, err = fmt.Fprintf(c.stdout, "%s %s %s.\n", pos[0], what, app)
	return err
}

// randomPassword returns a 20-character random password.
func randomPassword() string {
	return rand.Text()[:20]
}
