package builder

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-units"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/buildpacks"
)

// LabelBuild marks build containers (value: the app), so they are never
// taken for app containers.
const LabelBuild = "wharf.build"

// CacheVolume is the Docker volume holding app's CACHE_DIR.
func CacheVolume(app string) string { return "wharf-cache-" + app }

// bpBuild is one buildpack build in progress.
type bpBuild struct {
	req        Request
	src        *source
	stack      Stack
	buildpacks []string          // directories under /buildpacks, in order
	files      map[string]string // what goes into /buildpacks
	limits     Limits
}

// buildpackBuild compiles the app with buildpacks in a stack-build container
// and makes the image stack-run + the compiled /app.
func (b *Builder) buildpackBuild(ctx context.Context, bb *bpBuild, out io.Writer) (Result, error) {
	st, err := b.EnsureStack(ctx, out)
	if err != nil {
		return Result{}, fmt.Errorf("preparing the build stack: %w", err)
	}
	bb.stack = st
	limits, err := b.requestLimits(bb.req.Config)
	if err != nil {
		return Result{}, err
	}
	bb.limits = limits
	id, err := b.createBuildContainer(ctx, bb)
	if err != nil {
		return Result{}, err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		b.docker.ContainerRemove(rctx, id, container.RemoveOptions{Force: true})
	}()
	if err := b.copyInputs(ctx, id, bb); err != nil {
		return Result{}, err
	}
	if err := b.runCompile(ctx, id, bb, out); err != nil {
		return Result{}, err
	}
	procs, err := b.readRelease(ctx, id)
	if err != nil {
		return Result{}, err
	}
	return b.exportImage(ctx, id, bb, procs, out)
}

// requestLimits applies BUILD_TIMEOUT and BUILD_MEMORY from the app's config
// over the daemon's defaults.
func (b *Builder) requestLimits(config map[string]string) (Limits, error) {
	l := b.limits
	if v := strings.TrimSpace(config["BUILD_TIMEOUT"]); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			if secs, serr := units.FromHumanSize(v + "B"); serr == nil && !strings.ContainsAny(v, "kKmMgGtT") {
				d, err = time.Duration(secs)*time.Second, nil
			}
		}
		if err != nil || d <= 0 {
			return l, wharf.Errorf(wharf.EINVALID, "config BUILD_TIMEOUT=%q: want a duration such as 10m or a number of seconds", v)
		}
		l.Timeout = d
	}
	if v := strings.TrimSpace(config["BUILD_MEMORY"]); v != "" {
		n, err := units.RAMInBytes(v)
		if err != nil || n < 64<<20 {
			return l, wharf.Errorf(wharf.EINVALID, "config BUILD_MEMORY=%q: want a size of at least 64m, such as 1g", v)
		}
		l.Memory = n
	}
	return l, nil
}

func (b *Builder) createBuildContainer(ctx context.Context, bb *bpBuild) (string, error) {
	pids := int64(4096)
	cmd := append([]string{"/bin/bash", "/buildpacks/driver.sh"}, bb.buildpacks...)
	resp, err := b.docker.ContainerCreate(ctx, &container.Config{
		Image:      bb.stack.Build,
		Cmd:        cmd,
		WorkingDir: "/app",
		Env: []string{"STACK=bookworm", "STACK_GO=" + buildpacks.GoVersion, "GOPROXY=" + b.goproxy,
			"HOME=/root", "PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Labels: map[string]string{LabelBuild: bb.req.App},
	}, &container.HostConfig{
		Mounts:      []mount.Mount{{Type: mount.TypeVolume, Source: CacheVolume(bb.req.App), Target: "/cache"}},
		Resources:   container.Resources{Memory: bb.limits.Memory, MemorySwap: bb.limits.Memory, PidsLimit: &pids},
		LogConfig:   container.LogConfig{Type: "none"},
		SecurityOpt: []string{"no-new-privileges:true"},
	}, nil, nil, "")
	if err != nil {
		return "", fmt.Errorf("creating the build container: %w", err)
	}
	return resp.ID, nil
}

// copyInputs puts the source in /app, the buildpacks in /buildpacks and the
// config vars in /env (one file per var).
func (b *Builder) copyInputs(ctx context.Context, id string, bb *bpBuild) error {
	pr, pw := io.Pipe()
	go func() {
		entries, _, err := bb.src.listEntries()
		if err == nil {
			err = bb.src.writeTar(ctx, entries, pw)
		}
		pw.CloseWithError(err)
	}()
	err := b.docker.CopyToContainer(ctx, id, "/app", pr, container.CopyToContainerOptions{})
	pr.CloseWithError(errBuildOver)
	if err != nil {
		return fmt.Errorf("copying the source into the build container: %w", err)
	}
	bpTar, err := memTar(bb.files)
	if err != nil {
		return err
	}
	if err := b.docker.CopyToContainer(ctx, id, "/buildpacks", bpTar, container.CopyToContainerOptions{}); err != nil {
		return fmt.Errorf("copying the buildpacks into the build container: %w", err)
	}
	env := map[string]string{}
	for k, v := range bb.req.Config {
		if validEnvName(k) {
			env[k] = v
		}
	}
	if len(env) == 0 {
		return nil
	}
	envTar, err := memTarMode(env, 0o600)
	if err != nil {
		return err
	}
	if err := b.docker.CopyToContainer(ctx, id, "/env", envTar, container.CopyToContainerOptions{}); err != nil {
		return fmt.Errorf("copying the config into the build container: %w", err)
	}
	return nil
}

func validEnvName(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for _, c := range k {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// runCompile starts the build container, streams its output to out and
// waits for it within the time limit.
func (b *Builder) runCompile(ctx context.Context, id string, bb *bpBuild, out io.Writer) error {
	att, err := b.docker.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return fmt.Errorf("attaching to the build container: %w", err)
	}
	defer att.Close()
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(out, out, att.Reader)
		copied <- err
	}()
	tctx, cancel := context.WithTimeout(ctx, bb.limits.Timeout)
	defer cancel()
	waitC, errC := b.docker.ContainerWait(tctx, id, container.WaitConditionNextExit)
	if err := b.docker.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fmt.Errorf("starting the build container: %w", err)
	}
	var code int64
	select {
	case w := <-waitC:
		code = w.StatusCode
	case err := <-errC:
		kctx, kcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		b.docker.ContainerKill(kctx, id, "KILL")
		kcancel()
		if ctx.Err() != nil {
			return fmt.Errorf("build cancelled: %w", ctx.Err())
		}
		if tctx.Err() != nil {
			return wharf.Errorf(wharf.EINVALID, "build failed: it ran longer than its time limit of %s (config BUILD_TIMEOUT)", bb.limits.Timeout)
		}
		return fmt.Errorf("waiting for the build container: %w", err)
	}
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	return b.compileFailure(ctx, id, code, bb)
}

// compileFailure is nil for exit code 0, else the user's error.
func (b *Builder) compileFailure(ctx context.Context, id string, code int64, bb *bpBuild) error {
	if code == 0 {
		return nil
	}
	if info, err := b.docker.ContainerInspect(ctx, id); err == nil && info.State != nil && info.State.OOMKilled {
		return wharf.Errorf(wharf.EINVALID, "build failed: it ran out of memory (limit %s, config BUILD_MEMORY)", units.BytesSize(float64(bb.limits.Memory)))
	}
	switch code {
	case 70:
		return wharf.Errorf(wharf.EINVALID, "build failed: a buildpack's bin/detect refused the app (see the output above)")
	case 71:
		return wharf.Errorf(wharf.EINVALID, "build failed: the buildpack's bin/compile failed (see the output above)")
	}
	return wharf.Errorf(wharf.EINVALID, "build failed: the build exited with status %d (see the output above)", code)
}
