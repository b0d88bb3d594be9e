package deploy

import (
	"context"
	"io"
	"time"

	"github.com/wharfhq/wharf"
)

// The methods below are the contract for releases, scaling and
// self-healing; their bodies are being written now and until then answer
// with an error instead of pretending.

// Scale converges the running release of s.App to s.Processes: it starts
// missing instances (web ones health-checked, then routed) and retires
// extras (unrouted, drained, then stopped), with no failed request.
func (d *Deployer) Scale(ctx context.Context, s Spec, out io.Writer) error {
	return wharf.Errorf(wharf.EUNAVAILABLE, "scaling is not available yet")
}

// Restart replaces every process of s (only those of processType when it is
// not "") with fresh containers of the same release, with zero downtime.
func (d *Deployer) Restart(ctx context.Context, s Spec, processType string, out io.Writer) error {
	return wharf.Errorf(wharf.EUNAVAILABLE, "restarting is not available yet")
}

// Reconcile keeps the engine matching desired (app → current spec) until ctx
// ends: on engine events and every interval it restarts crashed processes
// with exponential backoff (marking them crashed after repeated failures),
// starts missing ones and removes containers of no current release.
func (d *Deployer) Reconcile(ctx context.Context, desired func(context.Context) (map[string]Spec, error), every time.Duration) {
	<-ctx.Done()
}

// CollectGarbage removes the app's images (wharf/<app>:*) other than keep
// and the dangling layers builds left behind.
func (d *Deployer) CollectGarbage(ctx context.Context, app string, keep []string) error {
	return nil
}

// RemoveVolumes deletes the app's named volumes.
func (d *Deployer) RemoveVolumes(ctx context.Context, app string, names []string) error {
	return wharf.Errorf(wharf.EUNAVAILABLE, "volumes are not available yet")
}
