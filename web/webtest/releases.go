package webtest

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/web"
)

// relState is the fake's releases, config, formation and volumes per app.
type relState struct {
	releases  map[string][]wharf.Release            // newest first
	config    map[string]map[string]string          // app → vars
	formation map[string]map[string]wharf.Formation // app → type → row
	volumes   map[string][]wharf.Volume
	restarts  []string // "app/type" of each RestartProcesses
}

func (s *relState) init() {
	if s.releases == nil {
		s.releases = map[string][]wharf.Release{}
		s.config = map[string]map[string]string{}
		s.formation = map[string]map[string]wharf.Formation{}
		s.volumes = map[string][]wharf.Volume{}
	}
}

// AddRelease appends rel as the app's newest release (status deployed when
// empty), with types as its process types.
func (f *Fake) AddRelease(app string, rel wharf.Release) wharf.Release {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addRelease(app, rel)
}

func (f *Fake) addRelease(app string, rel wharf.Release) wharf.Release {
	f.rels.init()
	rel.App, rel.Version = app, len(f.rels.releases[app])+1
	if rel.Status == "" {
		rel.Status = wharf.ReleaseDeployed
	}
	if rel.CreatedAt.IsZero() {
		rel.CreatedAt = time.Now().UTC().Truncate(time.Second)
	}
	f.rels.releases[app] = append([]wharf.Release{rel}, f.rels.releases[app]...)
	if a, ok := f.apps[app]; ok && rel.Status == wharf.ReleaseDeployed {
		a.Release = &rel
	}
	return rel
}

// Restarts returns "app/type" for each restart so far ("app/" for all types).
func (f *Fake) Restarts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.rels.restarts)
}

// relApp checks the app exists; the caller holds f.mu.
func (f *Fake) relApp(app string) error {
	f.rels.init()
	if _, ok := f.apps[app]; !ok {
		return wharf.Errorf(wharf.ENOTFOUND, "app %q not found", app)
	}
	return nil
}

// current is the newest deployed release; the caller holds f.mu.
func (f *Fake) current(app string) (wharf.Release, error) {
	for _, r := range f.rels.releases[app] {
		if r.Status == wharf.ReleaseDeployed {
			return r, nil
		}
	}
	return wharf.Release{}, wharf.Errorf(wharf.EINVALID, "%s has no release yet: deploy it first with git push", app)
}

// Releases implements web.Service.
func (f *Fake) Releases(_ context.Context, app string) ([]wharf.Release, error) {
	if err := f.hook("Releases"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.relApp(app); err != nil {
		return nil, err
	}
	return slices.Clone(f.rels.releases[app]), nil
}

// Rollback implements web.Service.
func (f *Fake) Rollback(_ context.Context, user, app string, version int) (wharf.Release, error) {
	if err := f.hook("Rollback"); err != nil {
		return wharf.Release{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.relApp(app); err != nil {
		return wharf.Release{}, err
	}
	cur, err := f.current(app)
	if err != nil {
		return cur, err
	}
	var target *wharf.Release
	for _, r := range f.rels.releases[app] {
		if r.Status == wharf.ReleaseDeployed && (r.Version == version || (version == 0 && r.Version < cur.Version)) {
			target = &r
			break
		}
	}
	if target == nil {
		return wharf.Release{}, wharf.Errorf(wharf.EINVALID, "%s has no deployed release to roll back to", app)
	}
	f.rels.config[app] = maps.Clone(target.Config)
	return f.addRelease(app, wharf.Release{Image: target.Image, Config: target.Config, ProcessTypes: target.ProcessTypes,
		CreatedBy: user, Description: "Rollback to v" + strconv.Itoa(target.Version)}), nil
}

// Config implements web.Service.
func (f *Fake) Config(_ context.Context, app string) (map[string]string, error) {
	if err := f.hook("Config"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.relApp(app); err != nil {
		return nil, err
	}
	return maps.Clone(f.rels.config[app]), nil
}

// UpdateConfig implements web.Service with the daemon's key rule.
func (f *Fake) UpdateConfig(_ context.Context, user, app string, u web.ConfigUpdate) (web.ConfigResult, error) {
	if err := f.hook("UpdateConfig"); err != nil {
		return web.ConfigResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.relApp(app); err != nil {
		return web.ConfigResult{}, err
	}
	cfg := maps.Clone(f.rels.config[app])
	if cfg == nil {
		cfg = map[string]string{}
	}
	for k := range u.Set {
		if err := wharf.ValidateConfigKey(k); err != nil {
			return web.ConfigResult{}, err
		}
	}
	for _, k := range u.Unset {
		if _, ok := cfg[k]; !ok {
			return web.ConfigResult{}, wharf.Errorf(wharf.EINVALID, "%s has no config var %s", app, k)
		}
		delete(cfg, k)
	}
	maps.Copy(cfg, u.Set)
	f.rels.config[app] = cfg
	res := web.ConfigResult{Config: maps.Clone(cfg)}
	if cur, err := f.current(app); err == nil && u.Restart {
		rel := f.addRelease(app, wharf.Release{Image: cur.Image, Config: cfg, ProcessTypes: cur.ProcessTypes, CreatedBy: user, Description: "Config change"})
		res.Release = &rel
	}
	return res, nil
}

// Formation implements web.Service.
func (f *Fake) Formation(_ context.Context, app string) ([]wharf.Formation, error) {
	if err := f.hook("Formation"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.relApp(app); err != nil {
		return nil, err
	}
	return f.formation(app), nil
}

// formation joins the current release's types with the rows; the caller
// holds f.mu.
func (f *Fake) formation(app string) []wharf.Formation {
	types := map[string]string{"web": ""}
	if cur, err := f.current(app); err == nil && len(cur.ProcessTypes) > 0 {
		types = cur.ProcessTypes
	}
	var out []wharf.Formation
	for _, t := range slices.Sorted(maps.Keys(types)) {
		if t == "release" {
			continue
		}
		row, ok := f.rels.formation[app][t]
		if !ok {
			row = wharf.Formation{Type: t}
			if t == "web" {
				row.Quantity = 1
			}
		}
		row.Command = types[t]
		out = append(out, row)
	}
	return out
}

// checkType refuses a type the current release does not run; the caller
// holds f.mu.
func (f *Fake) checkType(app, typ string) error {
	var names []string
	for _, row := range f.formation(app) {
		if row.Type == typ {
			return nil
		}
		names = append(names, row.Type)
	}
	return wharf.Errorf(wharf.EINVALID, "unknown process type %q: %s has %s", typ, app, strings.Join(names, ", "))
}

// Scale implements web.Service.
func (f *Fake) Scale(_ context.Context, _, app string, qty map[string]int) ([]wharf.Formation, error) {
	if err := f.hook("Scale"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.relApp(app); err != nil {
		return nil, err
	}
	for t := range qty {
		if err := f.checkType(app, t); err != nil {
			return nil, err
		}
	}
	if f.rels.formation[app] == nil {
		f.rels.formation[app] = map[string]wharf.Formation{}
	}
	for t, n := range qty {
		row := f.rels.formation[app][t]
		row.Type, row.Quantity = t, n
		f.rels.formation[app][t] = row
	}
	return f.formation(app), nil
}

// RestartProcesses implements web.Service.
func (f *Fake) RestartProcesses(_ context.Context, _, app, typ string) error {
	if err := f.hook("RestartProcesses"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.relApp(app); err != nil {
		return err
	}
	if typ != "" {
		if err := f.checkType(app, typ); err != nil {
			return err
		}
	}
	f.rels.restarts = append(f.rels.restarts, app+"/"+typ)
	return nil
}

// SetResources implements web.Service.
func (f *Fake) SetResources(_ context.Context, _, app string, u web.ResourcesUpdate) ([]wharf.Formation, error) {
	if err := f.hook("SetResources"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.relApp(app); err != nil {
		return nil, err
	}
	if err := f.checkType(app, u.Type); err != nil {
		return nil, err
	}
	if f.rels.formation[app] == nil {
		f.rels.formation[app] = map[string]wharf.Formation{}
	}
	row, ok := f.rels.formation[app][u.Type]
	if !ok && u.Type == "web" {
		row.Quantity = 1
	}
	row.Type = u.Type
	if u.Memory != "" {
		m, err := wharf.ParseMemory(u.Memory)
		if err != nil {
			return nil, err
		}
		row.Memory = m
	}
	if u.CPUs != nil {
		row.CPUs = *u.CPUs
	}
	f.rels.formation[app][u.Type] = row
	return f.formation(app), nil
}

// Volumes implements web.Service.
func (f *Fake) Volumes(_ context.Context, app string) ([]wharf.Volume, error) {
	if err := f.hook("Volumes"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.relApp(app); err != nil {
		return nil, err
	}
	return slices.Clone(f.rels.volumes[app]), nil
}

// MountVolume implements web.Service.
func (f *Fake) MountVolume(_ context.Context, _, app string, v wharf.Volume) error {
	if err := f.hook("MountVolume"); err != nil {
		return err
	}
	if err := wharf.ValidateVolume(v); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.relApp(app); err != nil {
		return err
	}
	for _, have := range f.rels.volumes[app] {
		if have.Name == v.Name {
			return wharf.Errorf(wharf.ECONFLICT, "volume %q is already mounted in %s", v.Name, app)
		}
	}
	f.rels.volumes[app] = append(f.rels.volumes[app], v)
	return nil
}

// UnmountVolume implements web.Service.
func (f *Fake) UnmountVolume(_ context.Context, _, app, name string) error {
	if err := f.hook("UnmountVolume"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.relApp(app); err != nil {
		return err
	}
	vs := f.rels.volumes[app]
	i := slices.IndexFunc(vs, func(v wharf.Volume) bool { return v.Name == name })
	if i < 0 {
		return wharf.Errorf(wharf.ENOTFOUND, "%s has no volume %q", app, name)
	}
	f.rels.volumes[app] = slices.Delete(vs, i, i+1)
	return nil
}

// DestroyVolumes implements web.Service.
func (f *Fake) DestroyVolumes(_ context.Context, _, app string) ([]wharf.Volume, error) {
	if err := f.hook("DestroyVolumes"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.relApp(app); err != nil {
		return nil, err
	}
	vs := f.rels.volumes[app]
	delete(f.rels.volumes, app)
	return vs, nil
}
