package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/wharfhq/wharf"
)

// Scale converges the running release of s.App to s.Processes: it starts
// missing instances (web ones health-checked, then routed) and retires
// extras (unrouted, drained, then stopped), with no failed request. Running
// instances in the formation are left alone.
func (d *Deployer) Scale(ctx context.Context, s Spec, out io.Writer) error {
	return d.locked(ctx, "scale", s, out, nil, func(instance) bool { return false })
}

// Restart replaces every process of s (only those of processType when it is
// not "") with fresh containers of the same release, with zero downtime:
// the new ones start and become ready, the routes switch, the old ones are
// drained and stopped.
func (d *Deployer) Restart(ctx context.Context, s Spec, processType string, out io.Writer) error {
	if _, ok := s.formation()[processType]; processType != "" && !ok {
		return wharf.Errorf(wharf.EINVALID, "%s has no process type %q", s.App, processType)
	}
	return d.locked(ctx, "restart", s, out, nil, func(in instance) bool {
		return processType == "" || in.Type == processType
	})
}

// locked validates s and, under the app's lock, runs first (when not nil,
// e.g. the release phase) and then converges to s.
func (d *Deployer) locked(ctx context.Context, op string, s Spec, out io.Writer,
	first func(context.Context, Spec, io.Writer) error, replace func(instance) bool) error {
	if out == nil {
		out = io.Discard
	}
	if err := s.validate(); err != nil {
		return err
	}
	unlock, err := d.locks.lock(ctx, s.App)
	if err != nil {
		return wharf.Errorf(wharf.EINVALID, "%s of %s v%d cancelled while waiting for another operation: %v", op, s.App, s.Release, err)
	}
	defer unlock()
	if first != nil {
		if err := first(ctx, s, out); err != nil {
			return err
		}
	}
	return d.converge(ctx, op, s, replace, out)
}

// CollectGarbage removes the app's images (wharf/<app>:*) other than keep
// (references such as wharf/app:v3, or bare tags such as v3) and those a container uses, then the
// app's dangling images that builds left behind.
func (d *Deployer) CollectGarbage(ctx context.Context, app string, keep []string) error {
	if err := wharf.ValidateAppName(app); err != nil {
		return err
	}
	refs := make([]string, 0, len(keep))
	for _, k := range keep {
		if !strings.Contains(k, ":") {
			k = "wharf/" + app + ":" + k // a bare tag, e.g. v3
		}
		refs = append(refs, k)
	}
	if err := d.eng.RemoveImages(ctx, app, refs, false); err != nil {
		return fmt.Errorf("collecting images of %s: %w", app, err)
	}
	return nil
}

// RemoveVolumes deletes the app's named volumes. A volume still mounted by
// a container is an error.
func (d *Deployer) RemoveVolumes(ctx context.Context, app string, names []string) error {
	if err := wharf.ValidateAppName(app); err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		if !volumeNameRE.MatchString(n) {
			errs = append(errs, wharf.Errorf(wharf.EINVALID, "invalid volume name %q", n))
			continue
		}
		errs = append(errs, d.eng.RemoveVolume(ctx, app, n))
	}
	return errors.Join(errs...)
}
