package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/wharfhq/wharf"
)

// Adopt reconciles the engine with current (app → its current release) when
// the daemon starts. A running container of an app's current release is kept
// untouched; an app with none gets its release deployed. Every other
// labelled container, left by a crashed deploy or of an app not in current,
// is removed. The app's processes are then recorded with SetProcesses. One
// app's failure does not stop the others; the errors are joined.
func (d *Deployer) Adopt(ctx context.Context, current map[string]Spec) error {
	all, err := d.eng.List(ctx, "")
	if err != nil {
		return fmt.Errorf("adopting containers: %w", err)
	}
	byApp := map[string][]instance{}
	for _, in := range all {
		byApp[in.App] = append(byApp[in.App], in)
	}
	apps := make([]string, 0, len(byApp)+len(current))
	for app := range byApp {
		apps = append(apps, app)
	}
	for app := range current {
		apps = append(apps, app)
	}
	slices.Sort(apps)
	var errs []error
	for _, app := range slices.Compact(apps) {
		errs = append(errs, d.adoptApp(ctx, app, current, byApp[app]))
	}
	return errors.Join(errs...)
}

// adoptApp keeps or starts app's current release and removes the app's
// other containers; all of them when app has no current release.
func (d *Deployer) adoptApp(ctx context.Context, app string, current map[string]Spec, found []instance) error {
	unlock, err := d.locks.lock(ctx, app)
	if err != nil {
		return fmt.Errorf("adopting %s: %w", app, err)
	}
	defer unlock()
	s, ok := current[app]
	switch {
	case !ok:
		return d.removeAll(ctx, app, found)
	case s.App != app:
		return fmt.Errorf("adopting %s: its spec names app %q", app, s.App)
	}
	keep, stale := pickKeeper(s, found)
	if keep == nil {
		return d.redeploy(ctx, s, stale)
	}
	if err := d.removeAll(ctx, s.App, stale); err != nil {
		return err
	}
	// A crash between the health check and Keep leaves no restart policy.
	if err := d.eng.Keep(ctx, keep.ContainerID); err != nil {
		return fmt.Errorf("adopting %s: %w", s.App, err)
	}
	d.log.Info("adopted", "app", s.App, "release", s.Release, "container", keep.ContainerName)
	if err := d.o.Store.SetProcesses(ctx, s.App, []wharf.Process{keep.Process}); err != nil {
		return fmt.Errorf("adopting %s: recording processes: %w", s.App, err)
	}
	return nil
}

// pickKeeper chooses the running container of s's release to keep,
// preferring the one with the canonical name, and returns it and the rest.
func pickKeeper(s Spec, found []instance) (*instance, []instance) {
	k := -1
	for i, in := range found {
		if in.Release != s.Release || !in.Running || in.Addr == "" {
			continue
		}
		if k < 0 || in.ContainerName == containerName(s.App, "web", 1, s.Release) {
			k = i
		}
	}
	if k < 0 {
		return nil, found
	}
	keep := found[k]
	return &keep, slices.Delete(slices.Clone(found), k, k+1)
}

// redeploy starts s when none of its containers runs. The stale containers
// of s's own release go first (they hold its name); those of other
// releases keep serving until the deploy retires them. When the deploy
// fails, the app is recorded without processes.
func (d *Deployer) redeploy(ctx context.Context, s Spec, stale []instance) error {
	var mine []instance
	for _, in := range stale {
		if in.Release == s.Release {
			mine = append(mine, in)
		}
	}
	if err := d.removeAll(ctx, s.App, mine); err != nil {
		return err
	}
	d.log.Info("adopt: starting current release", "app", s.App, "release", s.Release)
	err := s.validate()
	if err == nil {
		err = d.deploy(ctx, s, logWriter{d.log.With("app", s.App, "release", s.Release)})
	}
	if err == nil {
		return nil
	}
	if serr := d.o.Store.SetProcesses(ctx, s.App, nil); serr != nil {
		err = errors.Join(err, serr)
	}
	return fmt.Errorf("adopting %s: %w", s.App, err)
}

// removeAll stops and removes containers left over.
func (d *Deployer) removeAll(ctx context.Context, app string, list []instance) error {
	var errs []error
	for _, in := range list {
		d.log.Info("removing leftover container", "app", app, "release", in.Release, "container", in.ContainerName)
		errs = append(errs, d.eng.Remove(ctx, in.ContainerID, d.o.StopGrace))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("adopting %s: %w", app, err)
	}
	return nil
}

// logWriter turns a deploy's progress lines into log records.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Info(string(trimNewline(p)))
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}
