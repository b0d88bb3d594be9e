package swarmtest

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/wharfhq/wharf/internal/testenv"
)

// NodeImageRepo is the repository of the node image; its tag is a hash of
// everything that went into it.
const NodeImageRepo = "wharf-test/swarm-node"

// nodeRecipe changes whenever the way the image is put together changes, so
// the hash of the inputs does too.
const nodeRecipe = "swarm-node v1"

// nodeEntrypoint runs as PID 1 of a node container. The container is not
// --privileged (see nodeHostConfig), so it first gets back what privileged
// would have given dockerd: /sys and the cgroup hierarchies read-write, and a
// private /tmp. Then it becomes dockerd; flags come from the container's Cmd.
const nodeEntrypoint = `#!/bin/sh
set -e
bb=/bin/busybox
$bb mount -o remount,rw /sys
for d in /sys/fs/cgroup /sys/fs/cgroup/*; do
	$bb mount -o remount,rw,bind "$d" 2>/dev/null || $bb mount -o remount,rw "$d" 2>/dev/null || true
done
$bb mount -t tmpfs -o mode=1777 tmpfs /tmp
exec dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false "$@"
`

// nodeDockerfile is built FROM the repo's busybox test image (the shell and
// mount the entrypoint needs); rootfs/ holds the host's engine binaries and
// the shared libraries they load.
const nodeDockerfile = `FROM ` + testenv.BusyboxImage + `
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin XTABLES_LIBDIR=%s
ENTRYPOINT ["/bin/sh", "/entrypoint.sh"]
`

// engineBinaries are what an inner dockerd runs: itself, the containerd it
// starts, the shim and runtime, the init and port proxy it uses.
var engineBinaries = []string{"dockerd", "containerd", "containerd-shim-runc-v2", "runc", "docker-init", "docker-proxy"}

// iptablesNames all point at the host's xtables multi-call binary.
var iptablesNames = []string{"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"}

// nodeFile is one entry of the image's rootfs/: a copy of a host file, or a
// symlink when link is set.
type nodeFile struct {
	name string // path inside the image, without the leading slash
	src  string // host file to copy
	link string
	mode int64
}

var nodeImageMu sync.Mutex

// NodeImage returns the tag of the node image Cluster starts, building it on
// the host engine from the host's own dockerd, containerd, runc, docker-init,
// docker-proxy and iptables (with their ldd libraries and the xtables
// plugins) when no image with the hash of those inputs exists yet. Missing
// host binaries call testenv.Missing.
func NodeImage(t testing.TB) string {
	t.Helper()
	cli := testenv.Docker(t)
	testenv.Busybox(t)
	nodeImageMu.Lock()
	defer nodeImageMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	files, xtablesDir, err := nodeInputs()
	if err != nil {
		testenv.Missing(t, "cannot assemble the swarm node image: %v", err)
	}
	base, err := cli.ImageInspect(ctx, testenv.BusyboxImage)
	if err != nil {
		t.Fatalf("inspecting %s: %v", testenv.BusyboxImage, err)
	}
	dockerfile := fmt.Sprintf(nodeDockerfile, xtablesDir)
	sum, err := hashInputs(files, nodeRecipe, nodeEntrypoint, dockerfile, base.ID)
	if err != nil {
		t.Fatalf("hashing swarm node image inputs: %v", err)
	}
	tag := NodeImageRepo + ":" + sum
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag
	}
	start := time.Now()
	if err := buildNodeImage(ctx, cli, tag, dockerfile, files); err != nil {
		t.Fatalf("building %s: %v", tag, err)
	}
	t.Logf("built %s in %s", tag, time.Since(start).Round(time.Millisecond))
	removeOtherNodeImages(ctx, cli, tag)
	return tag
}

// nodeInputs lists the rootfs/ entries of the node image and the directory
// of the xtables plugins inside it.
func nodeInputs() ([]nodeFile, string, error) {
	var files []nodeFile
	var dynamic []string
	for _, name := range engineBinaries {
		p, err := findBinary(name)
		if err != nil {
			return nil, "", err
		}
		files = append(files, nodeFile{name: "usr/local/bin/" + name, src: p, mode: 0o755})
		dynamic = append(dynamic, p)
	}
	ipt, err := findBinary("iptables")
	if err != nil {
		return nil, "", err
	}
	multi, err := filepath.EvalSymlinks(ipt) // xtables-nft-multi or xtables-legacy-multi
	if err != nil {
		return nil, "", err
	}
	files = append(files, nodeFile{name: "usr/local/bin/" + filepath.Base(multi), src: multi, mode: 0o755})
	for _, n := range iptablesNames {
		files = append(files, nodeFile{name: "usr/local/bin/" + n, link: filepath.Base(multi), mode: 0o777})
	}
	dynamic = append(dynamic, multi)

	libs, err := sharedLibraries(dynamic...)
	if err != nil {
		return nil, "", err
	}
	xtablesDir, plugins, err := xtablesPlugins(libs)
	if err != nil {
		return nil, "", err
	}
	pluginLibs, err := neededLibraries(plugins, libs)
	if err != nil {
		return nil, "", err
	}
	for _, p := range plugins {
		files = append(files, nodeFile{name: strings.TrimPrefix(p, "/"), src: p, mode: 0o644})
	}
	seen := map[string]bool{}
	for _, l := range append(libs, pluginLibs...) {
		if !seen[l] {
			seen[l] = true
			files = append(files, nodeFile{name: strings.TrimPrefix(l, "/"), src: l, mode: 0o755})
		}
	}
	for _, etc := range []string{"/etc/protocols", "/etc/ethertypes"} {
		if _, err := os.Stat(etc); err == nil {
			files = append(files, nodeFile{name: strings.TrimPrefix(etc, "/"), src: etc, mode: 0o644})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	return files, xtablesDir, nil
}

// findBinary looks on PATH and in the sbin directories a non-root PATH may lack.
func findBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on the host (it is part of the Docker Engine packages)", name)
}

// sharedLibraries returns the absolute paths ldd prints for bins, the
// dynamic loader included, in one ldd run. Static binaries contribute none.
func sharedLibraries(bins ...string) ([]string, error) {
	if len(bins) == 0 {
		return nil, nil
	}
	ldd, err := exec.LookPath("ldd")
	if err != nil {
		return nil, fmt.Errorf("ldd not found: %w", err)
	}
	// ldd exits non-zero when one of several files is static; the output
	// still lists the others.
	out, _ := exec.Command(ldd, bins...).Output()
	seen := map[string]bool{}
	var libs []string
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasSuffix(line, ":") {
			continue // a file header when ldd gets several files
		}
		var p string
		if _, after, ok := strings.Cut(line, "=>"); ok {
			p, _, _ = strings.Cut(strings.TrimSpace(after), " ")
		} else if strings.HasPrefix(line, "/") {
			p, _, _ = strings.Cut(line, " ")
		}
		if strings.HasPrefix(p, "/") && !seen[p] {
			seen[p] = true
			libs = append(libs, p)
		}
	}
	if len(libs) == 0 {
		return nil, fmt.Errorf("ldd printed no libraries for %s", strings.Join(bins, " "))
	}
	return libs, nil
}

// neededLibraries resolves the DT_NEEDED entries of files, and of what they
// need in turn, in the directories of known (libraries ldd found for the
// binaries). It reads the ELF headers instead of running ldd, which runs
// the loader once per file: seconds for the ~120 iptables plugins.
func neededLibraries(files, known []string) ([]string, error) {
	dirs := []string{}
	byName := map[string]string{}
	for _, l := range known {
		byName[filepath.Base(l)] = l
		if !slices.Contains(dirs, filepath.Dir(l)) {
			dirs = append(dirs, filepath.Dir(l))
		}
	}
	var libs []string
	queue := slices.Clone(files)
	seen := map[string]bool{}
	for len(queue) > 0 {
		f := queue[0]
		queue = queue[1:]
		e, err := elf.Open(f)
		if err != nil {
			return nil, err
		}
		needed, err := e.ImportedLibraries()
		e.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, name := range needed {
			if seen[name] {
				continue
			}
			seen[name] = true
			p, ok := byName[name]
			for _, d := range dirs {
				if ok {
					break
				}
				if _, err := os.Stat(filepath.Join(d, name)); err == nil {
					p, ok = filepath.Join(d, name), true
				}
			}
			if !ok {
				return nil, fmt.Errorf("%s needs %s, not found in %v", f, name, dirs)
			}
			libs = append(libs, p)
			queue = append(queue, p)
		}
	}
	return libs, nil
}

// xtablesPlugins finds the directory of the iptables extensions, which
// libxtables loads with dlopen (ldd cannot see them): next to libxtables on
// Debian (/usr/lib/<triplet>/xtables).
func xtablesPlugins(libs []string) (string, []string, error) {
	var candidates []string
	for _, l := range libs {
		if strings.Contains(filepath.Base(l), "libxtables") {
			if dir, err := filepath.EvalSymlinks(filepath.Dir(l)); err == nil {
				candidates = append(candidates, filepath.Join(dir, "xtables"))
			}
		}
	}
	globbed, _ := filepath.Glob("/usr/lib/*/xtables")
	candidates = append(candidates, globbed...)
	candidates = append(candidates, "/usr/lib/xtables", "/usr/lib64/xtables", "/usr/libexec/xtables")
	for _, dir := range candidates {
		plugins, _ := filepath.Glob(filepath.Join(dir, "*.so"))
		if len(plugins) > 0 {
			sort.Strings(plugins)
			return dir, plugins, nil
		}
	}
	return "", nil, fmt.Errorf("no iptables extensions (xtables/*.so) found")
}

// hashInputs hashes the recipe and every file's name, mode and content (or
// link target), so an upgraded engine package makes a new image.
func hashInputs(files []nodeFile, parts ...string) (string, error) {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	for _, f := range files {
		fmt.Fprintf(h, "%s %o %s\n", f.name, f.mode, f.link)
		if f.link != "" {
			continue
		}
		r, err := os.Open(f.src)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, r)
		r.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func buildNodeImage(ctx context.Context, cli client.APIClient, tag, dockerfile string, files []nodeFile) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeNodeContext(pw, dockerfile, files)) }()
	resp, err := cli.ImageBuild(ctx, pr, build.ImageBuildOptions{
		Tags:        []string{tag},
		Remove:      true,
		ForceRemove: true,
		Labels:      map[string]string{LabelRun: "node-image"},
	})
	if err != nil {
		pr.CloseWithError(err)
		return err
	}
	defer resp.Body.Close()
	return drainJSON(resp.Body)
}

func writeNodeContext(w io.Writer, dockerfile string, files []nodeFile) error {
	tw := tar.NewWriter(w)
	small := []struct {
		name, body string
		mode       int64
	}{
		{"Dockerfile", dockerfile, 0o644},
		{"rootfs/entrypoint.sh", nodeEntrypoint, 0o755},
	}
	for _, f := range small {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body))}); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			return err
		}
	}
	dirs := map[string]bool{}
	for _, f := range files {
		name := "rootfs/" + f.name
		if err := writeParents(tw, dirs, filepath.Dir(name)); err != nil {
			return err
		}
		if f.link != "" {
			if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: f.link, Mode: f.mode}); err != nil {
				return err
			}
			continue
		}
		if err := copyIntoTar(tw, name, f.src, f.mode); err != nil {
			return err
		}
	}
	return tw.Close()
}

func writeParents(tw *tar.Writer, done map[string]bool, dir string) error {
	if dir == "." || dir == "/" || done[dir] {
		return nil
	}
	if err := writeParents(tw, done, filepath.Dir(dir)); err != nil {
		return err
	}
	done[dir] = true
	return tw.WriteHeader(&tar.Header{Name: dir + "/", Typeflag: tar.TypeDir, Mode: 0o755})
}

func copyIntoTar(tw *tar.Writer, name, src string, mode int64) error {
	r, err := os.Open(src)
	if err != nil {
		return err
	}
	defer r.Close()
	fi, err := r.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: fi.Size()}); err != nil {
		return err
	}
	_, err = io.Copy(tw, r)
	return err
}

// removeOtherNodeImages deletes node images of older inputs; one still used
// by a running cluster stays.
func removeOtherNodeImages(ctx context.Context, cli client.APIClient, keep string) {
	list, err := cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", NodeImageRepo))})
	if err != nil {
		return
	}
	for _, img := range list {
		for _, tag := range img.RepoTags {
			if tag != keep {
				_, _ = cli.ImageRemove(ctx, tag, image.RemoveOptions{PruneChildren: true})
			}
		}
	}
}

// drainJSON reads a build, load, push or pull progress stream to its end and
// returns the first error message in it.
func drainJSON(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}
