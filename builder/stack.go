package builder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"

	"github.com/wharfhq/wharf/buildpacks"
)

// Stack names the two stack images buildpack builds use, tagged with a hash
// of their definition.
type Stack struct {
	Build string // wharf/stack-build:<hash>, where buildpacks run
	Run   string // wharf/stack-run:<hash>, what built apps run on
}

// debianImage is the stack's base when the engine has it or can pull it.
const debianImage = "debian:bookworm-slim"

// EnsureStack returns the stack images, making the ones missing (from
// debian:bookworm-slim when it can be had, otherwise from a debootstrap'd
// rootfs), with their progress written to out. Images whose definition did
// not change are reused.
func (b *Builder) EnsureStack(ctx context.Context, out io.Writer) (Stack, error) {
	b.stackMu.Lock()
	defer b.stackMu.Unlock()
	unlock, err := lockStackBuild(ctx)
	if err != nil {
		return Stack{}, err
	}
	defer unlock()
	base, err := b.ensureBase(ctx, out)
	if err != nil {
		return Stack{}, err
	}
	st := stackFiles()
	ca := hostCABundle()
	buildDef := strings.NewReplacer("{{BASE}}", base, "{{GOVERSION}}", buildpacks.GoVersion).Replace(st["build.Dockerfile"])
	buildTag := "wharf/stack-build:" + defHash(buildDef, st["static/main.go"], ca)
	runDef := strings.NewReplacer("{{BASE}}", base, "{{BUILD}}", buildTag).Replace(st["run.Dockerfile"])
	runTag := "wharf/stack-run:" + defHash(runDef, st["wharf-launch"], ca)
	staticMod := "module wharf-static\n\ngo 1.26\n"
	if err := b.ensureImage(ctx, buildTag, map[string]string{
		"Dockerfile": buildDef, "static/main.go": st["static/main.go"], "static/go.mod": staticMod, "host-ca.crt": ca,
	}, out); err != nil {
		return Stack{}, err
	}
	runFiles := map[string]string{"Dockerfile": runDef, "wharf-launch": st["wharf-launch"], "host-ca.crt": ca}
	if err := b.ensureImage(ctx, runTag, runFiles, out); err != nil {
		return Stack{}, err
	}
	return Stack{Build: buildTag, Run: runTag}, nil
}

// hostCABundle is the host's CA bundle (SSL_CERT_FILE, else Debian's), or
// "" when it has none.
func hostCABundle() string {
	for _, f := range []string{os.Getenv("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"} {
		if f == "" {
			continue
		}
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte("BEGIN CERTIFICATE")) {
			return string(b)
		}
	}
	return ""
}

// stackFiles reads the embedded stack definition.
func stackFiles() map[string]string {
	files := map[string]string{}
	fsys := buildpacks.Stack()
	for _, name := range []string{"build.Dockerfile", "run.Dockerfile", "wharf-launch", "static/main.go"} {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			panic(err) // embedded at compile time
		}
		files[name] = string(b)
	}
	return files
}

// defHash is the tag of an image made from parts.
func defHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// ensureImage builds tag from the files (a Dockerfile and what it copies)
// unless it exists.
func (b *Builder) ensureImage(ctx context.Context, tag string, files map[string]string, out io.Writer) error {
	if _, err := b.docker.ImageInspect(ctx, tag); err == nil {
		return nil
	}
	fmt.Fprintf(out, "-----> Building %s\n", tag)
	start := time.Now()
	ctxTar, err := tarOf(files)
	if err != nil {
		return err
	}
	proxy := goproxyURL(b.goproxy)
	resp, err := b.docker.ImageBuild(ctx, ctxTar, build.ImageBuildOptions{
		Tags: []string{tag}, Dockerfile: "Dockerfile", Remove: true, ForceRemove: true,
		Version: build.BuilderV1, BuildArgs: map[string]*string{"GOPROXY_URL": &proxy},
		Labels: map[string]string{"wharf.stack": "true"},
	})
	if err != nil {
		return fmt.Errorf("building %s: %w", tag, err)
	}
	defer resp.Body.Close()
	if err := (&buildStream{out: out}).consume(resp.Body); err != nil {
		return fmt.Errorf("building %s: %w", tag, err)
	}
	fmt.Fprintf(out, "-----> Built %s in %s\n", tag, time.Since(start).Round(time.Second))
	return nil
}

// goproxyURL is the first proxy of a GOPROXY list, or the public proxy.
func goproxyURL(goproxy string) string {
	for _, p := range strings.Split(goproxy, ",") {
		p = strings.TrimSpace(strings.Split(p, "|")[0])
		if strings.HasPrefix(p, "https://") || strings.HasPrefix(p, "http://") {
			return strings.TrimRight(p, "/")
		}
	}
	return "https://proxy.golang.org"
}

// ensureBase returns the bookworm base image: debian:bookworm-slim when the
// engine has it, else a wharf/stack-base made earlier, else a pulled
// debian:bookworm-slim, else one made now with debootstrap.
func (b *Builder) ensureBase(ctx context.Context, out io.Writer) (string, error) {
	if _, err := b.docker.ImageInspect(ctx, debianImage); err == nil {
		return debianImage, nil
	}
	baseTag := "wharf/stack-base:" + defHash(strings.Join(debootstrapArgs("ROOT"), " "))
	if _, err := b.docker.ImageInspect(ctx, baseTag); err == nil {
		return baseTag, nil
	}
	if b.tryPull(ctx, out) {
		return debianImage, nil
	}
	return baseTag, b.debootstrap(ctx, baseTag, out)
}

// tryPull pulls debian:bookworm-slim, giving up quickly when no registry
// answers.
func (b *Builder) tryPull(ctx context.Context, out io.Writer) bool {
	fmt.Fprintf(out, "-----> Pulling %s\n", debianImage)
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	rc, err := b.docker.ImagePull(pctx, debianImage, image.PullOptions{})
	if err == nil {
		err = (&buildStream{out: io.Discard}).consume(rc)
		rc.Close()
	}
	if err != nil {
		fmt.Fprintf(out, "       not available (%s): making the base with debootstrap\n", oneLine(err.Error()))
		return false
	}
	return true
}

// PurgeCache deletes app's build cache volume; a missing one is fine.
func (b *Builder) PurgeCache(ctx context.Context, app string) error {
	err := b.docker.VolumeRemove(ctx, CacheVolume(app), true)
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("deleting the build cache of %s: %w", app, err)
	}
	return nil
}
