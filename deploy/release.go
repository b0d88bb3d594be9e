package deploy

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wharfhq/wharf"
)

// releaseLines is how much of the release phase's output an error quotes.
const releaseLines = 30

// releasePhase runs s.ReleaseCommand once with sh -c in a throwaway
// container of the new image, with the release's config and volumes,
// before anything of the release starts. A non-zero exit fails the deploy
// (EINVALID, quoting the output) with nothing changed.
func (d *Deployer) releasePhase(ctx context.Context, s Spec, out io.Writer) error {
	if strings.TrimSpace(s.ReleaseCommand) == "" {
		return nil
	}
	vols, err := d.volumes(ctx, s)
	if err != nil {
		return err
	}
	w := workload{App: s.App, Release: s.Release, Type: releaseType, Image: s.Image, Command: s.ReleaseCommand,
		Env: envOf(s.Env), Memory: d.o.Memory, PidsLimit: d.o.PidsLimit, Volumes: vols}
	fmt.Fprintf(out, "Running release command: %s\n", s.ReleaseCommand)
	begin := time.Now()
	rctx, cancel := context.WithTimeout(ctx, d.o.ReleaseTimeout)
	defer cancel()
	code, output, err := d.eng.RunOnce(rctx, w, releaseLines)
	if err == nil && code == 0 {
		fmt.Fprintf(out, "Release command done in %.1fs\n", time.Since(begin).Seconds())
		return nil
	}
	why := fmt.Sprintf("exited with code %d", code)
	if err != nil {
		why = fmt.Sprintf("failed: %v", err)
	}
	msg := fmt.Sprintf("deploy of %s v%d failed: the release command %s", s.App, s.Release, why)
	return wharf.Errorf(wharf.EINVALID, "%s", withLogs(msg, output, true))
}
