package builder

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
)

// readRelease reads the last buildpack's bin/release output from the build
// container and returns its default process types.
func (b *Builder) readRelease(ctx context.Context, id string) (map[string]string, error) {
	rc, _, err := b.docker.CopyFromContainer(ctx, id, "/tmp/release.yml")
	if err != nil {
		return nil, fmt.Errorf("reading bin/release's output: %w", err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		return nil, fmt.Errorf("reading bin/release's output: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(tr, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading bin/release's output: %w", err)
	}
	return parseRelease(string(body)), nil
}

// parseRelease reads default_process_types from bin/release's YAML: the
// subset buildpacks print (a mapping of type to one-line command).
func parseRelease(doc string) map[string]string {
	procs := map[string]string{}
	in := false
	sc := bufio.NewScanner(strings.NewReader(doc))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line == "" || strings.HasPrefix(strings.TrimSpace(line), "#") || line == "---" {
			continue
		}
		indented := line[0] == ' ' || line[0] == '\t'
		if !indented {
			in = strings.HasPrefix(line, "default_process_types:")
			continue
		}
		if !in {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && k != "" {
			procs[strings.TrimSpace(k)] = unquoteYAML(strings.TrimSpace(v))
		}
	}
	return procs
}

func unquoteYAML(v string) string {
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return v[1 : len(v)-1]
	}
	return v
}

// parseProcfile reads "type: command" lines.
func parseProcfile(body string) map[string]string {
	procs := map[string]string{}
	for _, line := range strings.Split(body, "\n") {
		k, v, ok := strings.Cut(line, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if ok && k != "" && v != "" && !strings.HasPrefix(k, "#") {
			procs[k] = v
		}
	}
	return procs
}

// exportImage makes the app's image: a container of the run stack gets the
// compiled /app (owned by the user app) copied in, and is committed with
// one layer and the config to start the web command (the Procfile's, else
// the buildpack's default) through wharf-launch as the user app.
func (b *Builder) exportImage(ctx context.Context, id string, bb *bpBuild, procs map[string]string, out io.Writer) (Result, error) {
	web := procs["web"]
	if pf, err := bb.src.readFile("Procfile"); err == nil {
		if cmd := parseProcfile(string(pf))["web"]; cmd != "" {
			web = cmd
		}
	}
	fmt.Fprintf(out, "-----> Discovering process types\n       Default types for buildpack -> %s\n", strings.Join(keys(procs), ", "))
	fmt.Fprintf(out, "-----> Exporting /app onto %s\n", bb.stack.Run)
	rc, _, err := b.docker.CopyFromContainer(ctx, id, "/app")
	if err != nil {
		return Result{}, fmt.Errorf("reading the compiled app: %w", err)
	}
	defer rc.Close()
	// No labels of its own: the committed image would inherit them.
	created, err := b.docker.ContainerCreate(ctx, &container.Config{Image: bb.stack.Run, Cmd: noWebCmd}, nil, nil, nil, "")
	if err != nil {
		return Result{}, fmt.Errorf("creating the export container: %w", err)
	}
	defer b.removeContainer(ctx, created.ID)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(chownTar(pw, rc, appUID)) }()
	err = b.docker.CopyToContainer(ctx, created.ID, "/", pr, container.CopyToContainerOptions{})
	pr.CloseWithError(errBuildOver)
	if err != nil {
		return Result{}, fmt.Errorf("copying the compiled app into the run image: %w", err)
	}
	commit, err := b.docker.ContainerCommit(ctx, created.ID, container.CommitOptions{Reference: bb.req.Tag, Config: runConfig(web, bb.req.Labels)})
	if err != nil {
		return Result{}, fmt.Errorf("committing the app image: %w", err)
	}
	res, err := b.result(ctx, bb.req.Tag, commit.ID)
	if err != nil {
		return Result{}, err
	}
	if len(procs) > 0 {
		res.ProcessTypes = procs
	}
	return res, nil
}

func keys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	if len(ks) == 0 {
		return []string{"(none)"}
	}
	return ks
}

// noWebCmd is the image's command when nothing names a web process (the
// export container is never started).
var noWebCmd = []string{"/bin/sh", "-c", "echo 'no web process: add a Procfile with a web: line' >&2; exit 1"}

// runConfig is the app image's config over the run stack's.
func runConfig(web string, labels map[string]string) *container.Config {
	cfg := &container.Config{
		User:       "app",
		WorkingDir: "/app",
		Env: []string{"HOME=/app",
			"PATH=/app/bin:/app/.venv/bin:/app/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Entrypoint: []string{"/usr/local/bin/wharf-launch"},
		Labels:     labels,
	}
	if web != "" {
		cfg.Cmd = []string{"/bin/sh", "-c", web}
	}
	return cfg
}

func (b *Builder) removeContainer(ctx context.Context, id string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	b.docker.ContainerRemove(rctx, id, container.RemoveOptions{Force: true})
}

// appUID is the uid and gid of the run stack's user app.
const appUID = 1000

// chownTar copies the tar stream in to w with every entry owned by uid (the
// engine keeps the owners a tar gives).
func chownTar(w io.Writer, in io.Reader, uid int) error {
	tw := tar.NewWriter(w)
	tr := tar.NewReader(in)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the compiled app: %w", err)
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = uid, uid, "app", "app"
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	return tw.Close()
}
