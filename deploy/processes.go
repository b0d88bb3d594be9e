package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/wharfhq/wharf"
)

// Processes returns the app's containers as the engine reports them now,
// running or not, ordered by release, type and instance: State is
// "running", "starting" (being restarted), "crashed" (CrashLimit crashes
// within CrashWindow) or the engine's, e.g. "exited (1)"; Restarts counts
// the restarts by the reconcile loop; a process not running carries its
// last exit code, OOM kill and log lines.
func (d *Deployer) Processes(ctx context.Context, app string) ([]wharf.Process, error) {
	if err := wharf.ValidateAppName(app); err != nil {
		return nil, err
	}
	list, err := d.eng.List(ctx, app)
	if err != nil {
		return nil, fmt.Errorf("listing processes of %s: %w", app, err)
	}
	ps := make([]wharf.Process, 0, len(list))
	for _, in := range list {
		d.describe(&in.Process, in.Running)
		ps = append(ps, in.Process)
	}
	slices.SortFunc(ps, compareProcesses)
	return ps, nil
}

func compareProcesses(a, b wharf.Process) int {
	return cmp.Or(cmp.Compare(a.Release, b.Release), cmp.Compare(a.Type, b.Type),
		cmp.Compare(a.Instance, b.Instance), cmp.Compare(a.ContainerID, b.ContainerID))
}

// Destroy stops and removes all of the app's containers, then its images
// (the tags wharf/<app>:*). The process rows go with the app's record.
func (d *Deployer) Destroy(ctx context.Context, app string) error {
	if err := wharf.ValidateAppName(app); err != nil {
		return err
	}
	unlock, err := d.locks.lock(ctx, app)
	if err != nil {
		return fmt.Errorf("destroying %s: %w", app, err)
	}
	defer unlock()
	list, err := d.eng.List(ctx, app)
	if err != nil {
		return fmt.Errorf("destroying %s: %w", app, err)
	}
	var errs []error
	for _, in := range list {
		errs = append(errs, d.eng.Remove(ctx, in.ContainerID, d.o.StopGrace))
	}
	errs = append(errs, d.eng.RemoveImages(ctx, app, nil, true))
	d.forget(app)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("destroying %s: %w", app, err)
	}
	return nil
}
