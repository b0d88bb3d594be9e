package web

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/wharfhq/wharf"
)

// flashes are the messages a redirect may ask a page to show, by code, so
// no link can make the dashboard say arbitrary text.
var flashes = map[string]string{
	"scaled":     "Scaled. The processes below are the new formation.",
	"rolledback": "Rolled back: a new release with the chosen release's image and config is live.",
	"config":     "Config updated and a new release deployed.",
	"keyadded":   "SSH key added.",
	"keyremoved": "SSH key removed.",
	"useradded":  "User added.",
	"access":     "Access updated.",
}

func flash(r *http.Request) string { return flashes[r.URL.Query().Get("flash")] }

// appRow is one line of the apps page.
type appRow struct {
	AppInfo
	Running, Total int
}

// Status sums up the processes.
func (a appRow) Status() string {
	switch {
	case a.Release == nil:
		return "not deployed"
	case a.Total == 0:
		return "scaled to zero"
	case a.Running == a.Total:
		return "running"
	case a.Running == 0:
		return "down"
	}
	return "degraded"
}

func (s *server) appsPage(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	apps, err := s.svc.ListApps(r.Context())
	if err == nil {
		apps, err = s.visibleApps(r, v.Name, apps)
	}
	if err != nil {
		s.htmlError(w, r, err)
		return
	}
	rows := make([]appRow, 0, len(apps))
	for _, a := range apps {
		row := appRow{AppInfo: a, Total: len(a.Processes)}
		for _, p := range a.Processes {
			if p.State == "running" {
				row.Running++
			}
		}
		rows = append(rows, row)
	}
	s.render(w, r, http.StatusOK, "apps", page{Title: "Apps", Nav: "apps", Flash: flash(r), Data: rows})
}

func (s *server) newAppPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "newapp", page{Title: "New app", Nav: "apps"})
}

// configVar is one config var; the template masks Value.
type configVar struct{ Key, Value string }

// appView is everything the app page shows. A section whose service call
// failed shows its error instead.
type appView struct {
	AppInfo
	Created                          bool
	HasNodes                         bool // a process runs on a named swarm node
	Formation                        []wharf.Formation
	Releases                         []wharf.Release
	Config                           []configVar
	Domains                          []Domain
	Logs                             []LogLine
	LastLogID                        int64
	Builds                           []wharf.Build
	Events                           []Event
	FormationErr, ReleasesErr        string
	ConfigErr, DomainsErr, BuildsErr string
}

func (s *server) appPage(w http.ResponseWriter, r *http.Request) {
	ctx, name := r.Context(), chi.URLParam(r, "app")
	info, err := s.svc.AppInfo(ctx, name)
	if err != nil {
		s.htmlError(w, r, err)
		return
	}
	v := appView{AppInfo: nonNilProcesses(info), Created: r.URL.Query().Get("created") == "1",
		HasNodes: slices.ContainsFunc(info.Processes, func(p wharf.Process) bool { return p.Node != "" })}
	v.Formation, err = s.svc.Formation(ctx, name)
	v.FormationErr = sectionError(err)
	v.Releases, err = s.svc.Releases(ctx, name)
	v.ReleasesErr = sectionError(err)
	cfg, err := s.svc.Config(ctx, name)
	v.ConfigErr = sectionError(err)
	for _, k := range slices.Sorted(mapKeys(cfg)) {
		v.Config = append(v.Config, configVar{k, cfg[k]})
	}
	v.Domains, err = s.svc.ListDomains(ctx, name)
	v.DomainsErr = sectionError(err)
	v.Builds, err = s.svc.RecentBuilds(ctx, name, 5)
	v.BuildsErr = sectionError(err)
	if v.Logs, err = s.svc.Logs(ctx, name, LogQuery{Limit: 100}); err != nil {
		s.htmlError(w, r, err)
		return
	}
	if len(v.Logs) > 0 {
		v.LastLogID = v.Logs[len(v.Logs)-1].ID
	}
	if v.Events, err = s.svc.Activity(ctx, name, 20); err != nil {
		s.htmlError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "app", page{Title: name, Nav: "apps", Flash: flash(r), Data: v})
}

func sectionError(err error) string {
	if err == nil {
		return ""
	}
	return wharf.ErrorMessage(err)
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// logStream sends an app's new log lines as server-sent events, starting
// after the line id in ?after=.
func (s *server) logStream(w http.ResponseWriter, r *http.Request) {
	app := chi.URLParam(r, "app")
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if last, err := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64); err == nil {
		after = last // a reconnecting EventSource resumes where it was
	}
	q := LogQuery{AfterID: after, Limit: 1000}
	first, err := s.svc.Logs(r.Context(), app, q)
	if err != nil {
		s.htmlError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	_ = s.followLogs(r.Context(), w, app, q, first, func(l LogLine) error {
		return writeEvent(w, l)
	})
}

type keysView struct {
	Keys []wharf.Key
}

func (s *server) keysPage(w http.ResponseWriter, r *http.Request) {
	keys, err := s.svc.ListKeys(r.Context())
	if err == nil {
		keys, err = s.ownKeys(r, viewerOf(r).Name, keys)
	}
	if err != nil {
		s.htmlError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "keys", page{Title: "SSH keys", Nav: "keys", Flash: flash(r), Data: keysView{Keys: keys}})
}

type usersView struct {
	Users []User
	Apps  []string
}

func (s *server) usersPage(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r, "users") {
		return
	}
	users, err := s.svc.ListUsers(r.Context())
	if err != nil {
		s.htmlError(w, r, err)
		return
	}
	apps, err := s.svc.ListApps(r.Context())
	if err != nil {
		s.htmlError(w, r, err)
		return
	}
	v := usersView{Users: users}
	for _, a := range apps {
		v.Apps = append(v.Apps, a.Name)
	}
	s.render(w, r, http.StatusOK, "users", page{Title: "Users", Nav: "users", Flash: flash(r), Data: v})
}
