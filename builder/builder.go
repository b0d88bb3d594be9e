// Package builder turns a pushed commit of an app into a Docker image. It
// reads the commit's tree straight from the bare repository (and the push's
// quarantine directory, since builds run from the pre-receive hook), streams
// it as a tar build context to the Docker Engine, and streams the build's
// output back to the pusher as plain text.
package builder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
)

// Request says what to build.
type Request struct {
	App        string
	Commit     string            // full sha of the pushed commit
	RepoPath   string            // bare repo
	ObjectDirs []string          // extra object directories to read from first (the push quarantine dir); may be empty
	Tag        string            // e.g. "wharf/hello:3"
	Labels     map[string]string // put on the image
	// Config is the app's config vars: buildpacks see them in ENV_DIR;
	// BUILDPACK_URL chooses the buildpack, BUILD_TIMEOUT and BUILD_MEMORY
	// bound the build.
	Config map[string]string
}

// Result is a built image.
type Result struct {
	Image        string // the tag
	ImageID      string
	ExposedPorts []int // from the image config (EXPOSE), sorted
	// ProcessTypes are the default process types a buildpack's bin/release
	// declared (type → command); nil for Dockerfile builds. A Procfile in
	// the tree overrides them.
	ProcessTypes map[string]string
}

// Builder builds images with a Docker Engine.
type Builder struct {
	docker client.APIClient
	log    *slog.Logger
	limits Limits
	// goproxy is passed to Go builds and used to fetch the stack's Go
	// toolchain (GOPROXY's syntax).
	goproxy string
	stackMu sync.Mutex // one stack build at a time
}

// Limits bound a buildpack build; a Request's own limits (from the app's
// config) win.
type Limits struct {
	Timeout time.Duration // whole build container run; 0: 15 minutes
	Memory  int64         // bytes; 0: 2 GiB
}

// Option configures a Builder.
type Option func(*Builder)

// WithLimits sets the default time and memory limits of buildpack builds.
func WithLimits(l Limits) Option { return func(b *Builder) { b.limits = l } }

// WithGoProxy sets the GOPROXY list Go builds and the stack build use.
func WithGoProxy(goproxy string) Option { return func(b *Builder) { b.goproxy = goproxy } }

// New returns a Builder using docker.
func New(docker client.APIClient, log *slog.Logger, opts ...Option) *Builder {
	b := &Builder{docker: docker, log: log, goproxy: "https://proxy.golang.org,direct"}
	for _, o := range opts {
		o(b)
	}
	if b.limits.Timeout <= 0 {
		b.limits.Timeout = 15 * time.Minute
	}
	if b.limits.Memory <= 0 {
		b.limits.Memory = 2 << 30
	}
	return b
}

// Build builds req.Commit of req.App into the image req.Tag, writing the
// build's output to out as it comes. A tree Wharf cannot build and a failed
// build are EINVALID *wharf.Errors with a one-line message; cancelling ctx
// aborts the build.
func (b *Builder) Build(ctx context.Context, req Request, out io.Writer) (Result, error) {
	src, err := openSource(req.RepoPath, req.ObjectDirs, req.Commit)
	if err != nil {
		return Result{}, err
	}
	defer src.Close()
	bb, err := b.plan(ctx, src, req, out)
	if err != nil {
		return Result{}, err
	}
	if bb != nil {
		return b.timedBuildpackBuild(ctx, bb, out)
	}
	entries, warnings, err := src.listEntries()
	if err != nil {
		return Result{}, err
	}
	for _, w := range warnings {
		if _, err := fmt.Fprintln(out, w); err != nil {
			return Result{}, fmt.Errorf("writing build output: %w", err)
		}
	}
	start := time.Now()
	b.log.Info("building image", "app", req.App, "commit", req.Commit, "tag", req.Tag)
	id, err := b.dockerBuild(ctx, src, entries, req, out)
	if err != nil {
		b.log.Info("image build failed", "app", req.App, "commit", req.Commit, "tag", req.Tag, "err", err)
		return Result{}, err
	}
	res, err := b.result(ctx, req.Tag, id)
	if err != nil {
		return Result{}, err
	}
	b.log.Info("image built", "app", req.App, "tag", req.Tag, "image", res.ImageID, "duration", time.Since(start))
	return res, nil
}

// plan decides how to build: nil for a Dockerfile build, else the
// buildpacks to run (BUILDPACK_URL, .buildpacks, or the detected built-in).
func (b *Builder) plan(ctx context.Context, src *source, req Request, out io.Writer) (*bpBuild, error) {
	urls, err := src.chosenBuildpacks(req.Config)
	if err != nil {
		return nil, err
	}
	if len(urls) == 0 {
		d, err := src.detect(detectors())
		if err != nil || d.buildpack == "" {
			return nil, err
		}
		urls = []string{d.buildpack}
	}
	bb := &bpBuild{req: req, src: src, files: map[string]string{}}
	if bb.buildpacks, err = addBuildpacks(ctx, urls, bb.files, out); err != nil {
		return nil, err
	}
	return bb, nil
}

func (b *Builder) timedBuildpackBuild(ctx context.Context, bb *bpBuild, out io.Writer) (Result, error) {
	start := time.Now()
	b.log.Info("building with buildpacks", "app", bb.req.App, "commit", bb.req.Commit, "tag", bb.req.Tag, "buildpacks", bb.buildpacks)
	res, err := b.buildpackBuild(ctx, bb, out)
	if err != nil {
		b.log.Info("buildpack build failed", "app", bb.req.App, "tag", bb.req.Tag, "err", err)
		return Result{}, err
	}
	b.log.Info("image built", "app", bb.req.App, "tag", bb.req.Tag, "image", res.ImageID, "duration", time.Since(start))
	return res, nil
}

// dockerBuild streams the tar of entries to the engine's build and returns
// the image ID.
func (b *Builder) dockerBuild(ctx context.Context, src *source, entries []entry, req Request, out io.Writer) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	src.dockerfileSuffix = labelInstruction(req.Labels)
	pr, pw := io.Pipe()
	tarDone := make(chan error, 1)
	go func() {
		err := src.writeTar(ctx, entries, pw)
		pw.CloseWithError(err)
		tarDone <- err
	}()
	id, err := b.runBuild(ctx, pr, req, out)
	pr.CloseWithError(errBuildOver)
	if tarErr := <-tarDone; tarErr != nil && !errors.Is(tarErr, errBuildOver) && ctx.Err() == nil {
		return "", fmt.Errorf("sending the build context: %w", tarErr)
	}
	return id, err
}

// errBuildOver stops the tar writer once the engine no longer reads.
var errBuildOver = errors.New("build over")

func (b *Builder) runBuild(ctx context.Context, buildContext io.Reader, req Request, out io.Writer) (string, error) {
	resp, err := b.docker.ImageBuild(ctx, buildContext, build.ImageBuildOptions{
		Tags:        []string{req.Tag},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
		Version:     build.BuilderV1,
	})
	if err != nil {
		return "", startError(ctx, req.Tag, err)
	}
	defer resp.Body.Close()
	s := &buildStream{out: out}
	if err := s.consume(resp.Body); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("building %s: %w", req.Tag, ctx.Err())
		}
		return "", err
	}
	return s.imageID, nil
}

// result inspects the built image.
func (b *Builder) result(ctx context.Context, tag, id string) (Result, error) {
	img, err := b.docker.ImageInspect(ctx, tag)
	if err != nil {
		return Result{}, fmt.Errorf("inspecting built image %s: %w", tag, err)
	}
	res := Result{Image: tag, ImageID: id}
	if res.ImageID == "" {
		res.ImageID = img.ID
	}
	if img.Config == nil {
		return res, nil
	}
	seen := map[int]bool{}
	for p := range img.Config.ExposedPorts {
		n := nat.Port(p).Int()
		if n > 0 && !seen[n] {
			seen[n] = true
			res.ExposedPorts = append(res.ExposedPorts, n)
		}
	}
	sort.Ints(res.ExposedPorts)
	return res, nil
}
