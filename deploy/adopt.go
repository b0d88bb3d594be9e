package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
)

// Adopt reconciles the engine with current (app → its current release) when
// the daemon starts. Running containers of an app's current release are
// kept untouched; missing or exited processes of it are started now (web
// ones health-checked) and routed; every other labelled container of this
// installation, left by a crashed deploy or of an app not in current, is
// removed. The app's processes are then recorded with SetProcesses. One
// app's failure does not stop the others; the errors are joined.
func (d *Deployer) Adopt(ctx context.Context, current map[string]Spec) error {
	byApp, err := d.listByApp(ctx)
	if err != nil {
		return fmt.Errorf("adopting containers: %w", err)
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
	log := d.log.With("app", app)
	s, ok := current[app]
	switch {
	case !ok:
		d.retire(ctx, found, logWriter{log})
		return nil
	case s.App != app:
		return fmt.Errorf("adopting %s: its spec names app %q", app, s.App)
	}
	if err := s.validate(); err != nil {
		return fmt.Errorf("adopting %s: %w", app, err)
	}
	if _, err := d.reconcileApp(ctx, s, true); err != nil {
		return fmt.Errorf("adopting %s: %w", app, err)
	}
	log.Info("adopted", "release", s.Release)
	return nil
}

// logWriter turns progress lines into log records.
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
