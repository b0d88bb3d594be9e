package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/builder"
	"github.com/wharfhq/wharf/gitreceiver"
)

const zeroHash = "0000000000000000000000000000000000000000"

// maxBuildLog bounds the build output kept in the database per build.
const maxBuildLog = 1 << 20

// HandlePush is called by the pre-receive hook: it builds and deploys a push
// to main or master, and returns an error (rejecting the push, so the ref
// stays where it was) when the build or deploy fails.
func (p *platform) HandlePush(ctx context.Context, push gitreceiver.Push, out io.Writer) error {
	unlock := p.locks.lock(push.App)
	defer unlock()
	ref, err := deployRef(push.Refs, out)
	if err != nil || ref == nil {
		return err
	}
	p.event(ctx, push.App, push.User, "push", fmt.Sprintf("pushed %s to %s", short(ref.New), ref.Name))
	return p.deployCommit(ctx, push, ref.New, out)
}

// deployRef picks the ref whose push deploys: main or master. Other branches
// are stored and said so; deleting the deploy branch is refused.
func deployRef(refs []gitreceiver.RefUpdate, out io.Writer) (*gitreceiver.RefUpdate, error) {
	var found *gitreceiver.RefUpdate
	for i, r := range refs {
		if r.Name != "refs/heads/main" && r.Name != "refs/heads/master" {
			fmt.Fprintf(out, "-----> Stored %s (only pushes to main or master deploy)\n", strings.TrimPrefix(r.Name, "refs/heads/"))
			continue
		}
		if r.New == zeroHash {
			return nil, wharf.Errorf(wharf.EINVALID, "refusing to delete %s: Wharf deploys from it", r.Name)
		}
		if found != nil {
			return nil, wharf.Errorf(wharf.EINVALID, "push main or master, not both at once")
		}
		found = &refs[i]
	}
	return found, nil
}

func (p *platform) deployCommit(ctx context.Context, push gitreceiver.Push, commit string, out io.Writer) error {
	types, health, err := readTree(push, commit)
	if err != nil {
		return err
	}
	version, err := p.nextVersion(ctx, push.App)
	if err != nil {
		return err
	}
	res, err := p.build(ctx, push, commit, fmt.Sprintf("wharf/%s:%d", push.App, version), out)
	if err != nil {
		return err
	}
	types = withDefaults(types, res.ProcessTypes)
	config, err := p.db.ConfigVars(ctx, push.App)
	if err != nil {
		return err
	}
	rel, err := p.db.CreateRelease(ctx, wharf.Release{App: push.App, Image: res.Image, Commit: commit, Config: config,
		ProcessTypes: types, Health: health,
		Status: wharf.ReleasePending, CreatedBy: push.User, Description: "Deploy " + short(commit)})
	if err != nil {
		return fmt.Errorf("creating release: %w", err)
	}
	if rel.Version != version {
		return fmt.Errorf("release version raced: expected v%d, got v%d", version, rel.Version)
	}
	return p.release(ctx, rel, out)
}

// withDefaults is the Procfile's types over the buildpack's default ones
// (nil when neither has any, so web runs the image's command).
func withDefaults(procfile, defaults map[string]string) map[string]string {
	if len(defaults) == 0 {
		return procfile
	}
	types := maps.Clone(defaults)
	maps.Copy(types, procfile)
	return types
}

// readTree reads the pushed commit's Procfile (nil when there is none) and
// the web health check of its app.json, rejecting broken ones before any
// build starts.
func readTree(push gitreceiver.Push, commit string) (map[string]string, wharf.HealthCheck, error) {
	var dirs []string
	if push.QuarantineDir != "" {
		dirs = []string{push.QuarantineDir}
	}
	var types map[string]string
	var health wharf.HealthCheck
	b, err := builder.ReadFile(push.RepoPath, dirs, commit, "Procfile")
	switch {
	case err == nil:
		if types, err = parseProcfile(b); err != nil {
			return nil, health, err
		}
	case wharf.ErrorCode(err) != wharf.ENOTFOUND:
		return nil, health, fmt.Errorf("reading the Procfile: %w", err)
	}
	b, err = builder.ReadFile(push.RepoPath, dirs, commit, "app.json")
	switch {
	case err == nil:
		if health, err = parseAppJSON(b); err != nil {
			return nil, health, err
		}
	case wharf.ErrorCode(err) != wharf.ENOTFOUND:
		return nil, health, fmt.Errorf("reading app.json: %w", err)
	}
	return types, health, nil
}

// nextVersion is the version the next release of app will get. Releases are
// only created under the app's lock, so it holds until CreateRelease.
func (p *platform) nextVersion(ctx context.Context, app string) (int, error) {
	rels, err := p.db.ListReleases(ctx, app)
	if err != nil {
		return 0, fmt.Errorf("listing releases: %w", err)
	}
	if len(rels) == 0 {
		return 1, nil
	}
	return rels[0].Version + 1, nil
}

// build turns the pushed commit into the image tag, recording the build and
// its output.
func (p *platform) build(ctx context.Context, push gitreceiver.Push, commit, tag string, out io.Writer) (builder.Result, error) {
	fmt.Fprintf(out, "-----> Building %s from %s\n", push.App, short(commit))
	config, err := p.db.ConfigVars(ctx, push.App) // buildpacks' ENV_DIR, BUILDPACK_URL, BUILD_TIMEOUT/BUILD_MEMORY
	if err != nil {
		return builder.Result{}, err
	}
	b, err := p.db.CreateBuild(ctx, push.App, commit)
	if err != nil {
		return builder.Result{}, fmt.Errorf("recording the build: %w", err)
	}
	var logBuf cappedBuffer
	w := io.MultiWriter(&indentWriter{w: out, indent: "       ", start: true}, &logBuf)
	var dirs []string
	if push.QuarantineDir != "" {
		dirs = []string{push.QuarantineDir}
	}
	res, err := p.builder.Build(ctx, builder.Request{
		App: push.App, Commit: commit, RepoPath: push.RepoPath, ObjectDirs: dirs, Tag: tag, Config: config,
		Labels: map[string]string{wharf.LabelManaged: "true", wharf.LabelApp: push.App, wharf.LabelCommit: commit},
	}, w)
	status, image := wharf.BuildSucceeded, tag
	if err != nil {
		status, image = wharf.BuildFailed, ""
		fmt.Fprintf(&logBuf, "error: %s\n", wharf.ErrorMessage(err))
	}
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if ferr := p.db.FinishBuild(bg, b.ID, status, image, logBuf.String()); ferr != nil {
		p.log.Error("recording the build result", "app", push.App, "build", b.ID, "err", ferr)
	}
	if err != nil {
		return builder.Result{}, err
	}
	fmt.Fprintf(out, "-----> Built %s\n", res.Image)
	return res, nil
}

// release deploys rel and marks it deployed, or failed with the running
// release left as it was. After a deploy, images of old releases go.
func (p *platform) release(ctx context.Context, rel wharf.Release, out io.Writer) error {
	fmt.Fprintf(out, "-----> Releasing %s v%d\n", rel.App, rel.Version)
	spec, err := p.specFor(ctx, rel)
	if err == nil {
		err = p.deployer.Deploy(ctx, spec, &indentWriter{w: out, indent: "       ", start: true})
	}
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	status := wharf.ReleaseDeployed
	if err != nil {
		status = wharf.ReleaseFailed
	}
	if serr := p.db.SetReleaseStatus(bg, rel.App, rel.Version, status); serr != nil {
		return fmt.Errorf("recording release v%d as %s: %w", rel.Version, status, serr)
	}
	if err != nil {
		p.event(bg, rel.App, rel.CreatedBy, "release.failed", fmt.Sprintf("v%d failed: %s", rel.Version, wharf.ErrorMessage(err)))
		return err
	}
	p.event(bg, rel.App, rel.CreatedBy, "release", fmt.Sprintf("deployed v%d (%s)", rel.Version, rel.Description))
	fmt.Fprintf(out, "-----> Deployed %s v%d → %s\n", rel.App, rel.Version, p.appURL(rel.App))
	p.collectGarbage(context.WithoutCancel(ctx), rel.App)
	return nil
}

// collectGarbage removes the app's images but those of its newest
// KeepReleases releases (so a rollback to them needs no build), and
// dangling build layers. A failure is logged: the next deploy retries.
func (p *platform) collectGarbage(ctx context.Context, app string) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	rels, err := p.db.ListReleases(ctx, app)
	if err != nil {
		p.log.Warn("image garbage collection: listing releases", "app", app, "err", err)
		return
	}
	var keep []string
	for _, r := range rels {
		if len(keep) >= max(p.cfg.KeepReleases, 1) {
			break
		}
		if r.Status == wharf.ReleaseDeployed && !slices.Contains(keep, r.Image) {
			keep = append(keep, r.Image)
		}
	}
	if err := p.deployer.CollectGarbage(ctx, app, keep); err != nil {
		p.log.Warn("image garbage collection", "app", app, "err", err)
	}
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// indentWriter prefixes every line written through it, Heroku-style.
type indentWriter struct {
	w      io.Writer
	indent string
	start  bool
}

func (iw *indentWriter) Write(b []byte) (int, error) {
	var buf bytes.Buffer
	for i, c := range b {
		if iw.start {
			if !herokuStyled(b[i:]) {
				buf.WriteString(iw.indent)
			}
			iw.start = false
		}
		buf.WriteByte(c)
		if c == '\n' {
			iw.start = true
		}
	}
	if _, err := iw.w.Write(buf.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}

// herokuStyled tells lines already in Heroku's layout (a buildpack's
// "-----> step", " !     error" or indented sub-step), which are passed as is.
func herokuStyled(line []byte) bool {
	return bytes.HasPrefix(line, []byte("-----> ")) || bytes.HasPrefix(line, []byte(" !     ")) || bytes.HasPrefix(line, []byte("       "))
}

// cappedBuffer keeps the first maxBuildLog bytes written to it.
type cappedBuffer struct{ bytes.Buffer }

func (c *cappedBuffer) Write(b []byte) (int, error) {
	if room := maxBuildLog - c.Len(); room > 0 {
		if len(b) > room {
			c.Buffer.Write(b[:room])
		} else {
			c.Buffer.Write(b)
		}
	}
	return len(b), nil
}
