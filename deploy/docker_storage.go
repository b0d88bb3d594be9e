package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"
	"github.com/wharfhq/wharf"
)

// volumeName is the engine's name of app's volume name.
func volumeName(app, name string) string { return "wharf-" + app + "-" + name }

// LabelVolume names the app's volume on the Docker volume it is.
const LabelVolume = "wharf.volume"

func (e dockerEngine) EnsureVolume(ctx context.Context, app, name string) (string, error) {
	full := volumeName(app, name)
	_, err := e.cli.VolumeInspect(ctx, full)
	if err == nil {
		return full, nil
	}
	if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("inspecting volume %s: %w", full, err)
	}
	labels := map[string]string{wharf.LabelManaged: "true", wharf.LabelApp: app, LabelVolume: name}
	if e.installation != "" {
		labels[wharf.LabelInstallation] = e.installation
	}
	if _, err := e.cli.VolumeCreate(ctx, volume.CreateOptions{Name: full, Labels: labels}); err != nil {
		return "", fmt.Errorf("creating volume %s: %w", full, err)
	}
	return full, nil
}

func (e dockerEngine) RemoveVolume(ctx context.Context, app, name string) error {
	full := volumeName(app, name)
	err := e.cli.VolumeRemove(ctx, full, false)
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("removing volume %s: %w", full, err)
	}
	return nil
}

func (e dockerEngine) RemoveImages(ctx context.Context, app string, keep []string, all bool) error {
	repo := "wharf/" + app
	imgs, err := e.cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", repo))})
	if err != nil {
		return fmt.Errorf("listing images of %s: %w", app, err)
	}
	inUse := map[string]bool{}
	if !all {
		if inUse, err = e.imagesInUse(ctx); err != nil {
			return err
		}
	}
	var errs []error
	for _, img := range imgs {
		for _, tag := range img.RepoTags {
			if !strings.HasPrefix(tag, repo+":") || (!all && (slices.Contains(keep, tag) || inUse[img.ID])) {
				continue
			}
			_, err := e.cli.ImageRemove(ctx, tag, image.RemoveOptions{PruneChildren: true})
			if err != nil && !cerrdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("removing image %s: %w", tag, err))
			}
		}
	}
	dangling := filters.NewArgs(filters.Arg("dangling", "true"), filters.Arg("label", wharf.LabelApp+"="+app))
	if _, err := e.cli.ImagesPrune(ctx, dangling); err != nil {
		errs = append(errs, fmt.Errorf("pruning dangling images of %s: %w", app, err))
	}
	return errors.Join(errs...)
}

// imagesInUse returns the IDs of the images any container, Wharf's or
// not, was made from.
func (e dockerEngine) imagesInUse(ctx context.Context) (map[string]bool, error) {
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	used := map[string]bool{}
	for _, c := range list {
		used[c.ImageID] = true
	}
	return used, nil
}

func (e dockerEngine) Events(ctx context.Context, kick chan<- struct{}) error {
	f := filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("label", wharf.LabelManaged+"=true"),
		filters.Arg("event", string(events.ActionDie)),
		filters.Arg("event", string(events.ActionOOM)),
		filters.Arg("event", string(events.ActionDestroy)),
	)
	if e.installation != "" {
		f.Add("label", wharf.LabelInstallation+"="+e.installation)
	}
	msgs, errs := e.cli.Events(ctx, events.ListOptions{Filters: f})
	for {
		select {
		case <-msgs:
			select {
			case kick <- struct{}{}:
			default:
			}
		case err := <-errs:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("watching container events: %w", err)
		case <-ctx.Done():
			return nil
		}
	}
}
