package main

import (
	"context"
	"fmt"

	"github.com/wharfhq/wharf"
)

// Volumes implements web.ReleaseService.
func (p *platform) Volumes(ctx context.Context, app string) ([]wharf.Volume, error) {
	return p.db.Volumes(ctx, app)
}

// MountVolume implements web.ReleaseService; the volume is mounted from the
// next deploy on.
func (p *platform) MountVolume(ctx context.Context, user, app string, v wharf.Volume) error {
	if err := wharf.ValidateVolume(v); err != nil {
		return err
	}
	unlock := p.locks.lock(app)
	defer unlock()
	if err := p.db.AddVolume(ctx, app, v); err != nil {
		return err
	}
	p.event(ctx, app, user, "storage.mount", fmt.Sprintf("mounted volume %s at %s", v.Name, v.Path))
	return nil
}

// UnmountVolume implements web.ReleaseService; the data stays.
func (p *platform) UnmountVolume(ctx context.Context, user, app, name string) error {
	unlock := p.locks.lock(app)
	defer unlock()
	if err := p.db.RemoveVolume(ctx, app, name); err != nil {
		return err
	}
	p.event(ctx, app, user, "storage.unmount", "unmounted volume "+name)
	return nil
}

// DestroyVolumes implements web.ReleaseService: the app's containers go
// first (a volume in use cannot be deleted), then its volumes and rows.
func (p *platform) DestroyVolumes(ctx context.Context, user, app string) ([]wharf.Volume, error) {
	unlock := p.locks.lock(app)
	defer unlock()
	vs, err := p.db.Volumes(ctx, app)
	if err != nil || len(vs) == 0 {
		return vs, err
	}
	if err := p.deployer.Destroy(ctx, app); err != nil {
		return nil, fmt.Errorf("stopping %s before deleting its volumes: %w", app, err)
	}
	names := make([]string, 0, len(vs))
	for _, v := range vs {
		names = append(names, v.Name)
	}
	if err := p.deployer.RemoveVolumes(ctx, app, names); err != nil {
		return nil, err
	}
	for _, n := range names {
		if err := p.db.RemoveVolume(ctx, app, n); err != nil {
			return nil, err
		}
	}
	p.event(ctx, app, user, "storage.destroy", fmt.Sprintf("deleted %d volumes and their data", len(vs)))
	return vs, nil
}
