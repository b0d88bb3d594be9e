package builder

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/build"
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

// exportImage builds the app's image: the run stack plus the compiled /app
// as one layer owned by the user app, started through wharf-launch with the
// web command (the Procfile's, else the buildpack's default).
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
	dockerfile := exportDockerfile(bb.stack.Run, web, bb.req.Labels)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeExportContext(pw, dockerfile, rc)) }()
	resp, err := b.docker.ImageBuild(ctx, pr, build.ImageBuildOptions{
		Tags: []string{bb.req.Tag}, Dockerfile: "Dockerfile", Remove: true, ForceRemove: true, Version: build.BuilderV1,
	})
	if err != nil {
		pr.CloseWithError(errBuildOver)
		return Result{}, startError(ctx, bb.req.Tag, err)
	}
	defer resp.Body.Close()
	s := &buildStream{out: io.Discard}
	err = s.consume(resp.Body)
	pr.CloseWithError(errBuildOver)
	if err != nil {
		return Result{}, fmt.Errorf("exporting the app image: %w", err)
	}
	res, err := b.result(ctx, bb.req.Tag, s.imageID)
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

// exportDockerfile is the final image's definition.
func exportDockerfile(runImage, web string, labels map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "FROM %s\n", runImage)
	b.WriteString("COPY --chown=1000:1000 app /app\n")
	b.WriteString("ENV HOME=/app PATH=/app/bin:/app/.venv/bin:/app/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n")
	b.WriteString("USER app\nWORKDIR /app\n")
	b.WriteString(`ENTRYPOINT ["/usr/local/bin/wharf-launch"]` + "\n")
	if web != "" {
		cmd, _ := json.Marshal([]string{"/bin/sh", "-c", web})
		fmt.Fprintf(&b, "CMD %s\n", cmd)
	}
	b.WriteString(labelInstruction(labels))
	return b.String()
}

// writeExportContext writes a build context of the Dockerfile and the tar
// of /app that CopyFromContainer returned (entries under app/).
func writeExportContext(w io.Writer, dockerfile string, appTar io.Reader) error {
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.WriteString(tw, dockerfile); err != nil {
		return err
	}
	tr := tar.NewReader(appTar)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the compiled app: %w", err)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	return tw.Close()
}
