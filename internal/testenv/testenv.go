// Package testenv gives tests the real components they need (Docker Engine,
// a busybox image made locally, binaries on PATH) and decides what happens
// when one is missing: a skip on a laptop, a failure when CI is set.
package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// InCI reports whether the tests run in CI, where nothing may be missing.
func InCI() bool { return os.Getenv("CI") != "" }

// Missing skips the test on a laptop and fails it in CI, saying what is missing.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("CI is set but %s", msg)
	}
	t.Skipf("skipping: %s", msg)
}

// Binary returns the path of a program on PATH, or calls Missing.
func Binary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s is not installed: %v", name, err)
	}
	return p
}

// Docker returns a client for the local Docker Engine, or calls Missing.
func Docker(t testing.TB) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		Missing(t, "no Docker client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		Missing(t, "Docker Engine does not answer: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// BusyboxImage is the tag of the tiny base image tests build apps FROM.
const BusyboxImage = "wharf-test/busybox:latest"

var busyboxOnce sync.Mutex

// Busybox makes sure BusyboxImage exists, importing a rootfs made from the
// host's static busybox (Debian's busybox-static) when it does not, and
// returns its tag. Nothing is pulled.
func Busybox(t testing.TB) string {
	t.Helper()
	cli := Docker(t)
	busyboxOnce.Lock()
	defer busyboxOnce.Unlock()
	ctx := context.Background()
	if _, err := cli.ImageInspect(ctx, BusyboxImage); err == nil {
		return BusyboxImage
	}
	if err := ImportBusybox(ctx, cli, BusyboxImage); err != nil {
		Missing(t, "cannot make %s: %v", BusyboxImage, err)
	}
	return BusyboxImage
}

// ImportBusybox builds a minimal rootfs around the host's static busybox
// binary and imports it as tag.
func ImportBusybox(ctx context.Context, cli client.APIClient, tag string) error {
	bin, err := findStaticBusybox()
	if err != nil {
		return err
	}
	rootfs, err := busyboxRootfs(bin)
	if err != nil {
		return err
	}
	rc, err := cli.ImageImport(ctx, image.ImportSource{Source: bytes.NewReader(rootfs), SourceName: "-"}, tag, image.ImportOptions{})
	if err != nil {
		return fmt.Errorf("importing busybox rootfs: %w", err)
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := out.ReadFrom(rc); err != nil {
		return fmt.Errorf("importing busybox rootfs: %w", err)
	}
	if bytes.Contains(out.Bytes(), []byte(`"error"`)) {
		return fmt.Errorf("importing busybox rootfs: %s", out.String())
	}
	return nil
}

func findStaticBusybox() ([]byte, error) {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		out, err := exec.Command("file", "-L", p).Output()
		if err == nil && !bytes.Contains(out, []byte("statically linked")) && !bytes.Contains(out, []byte("static-pie")) {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("no static busybox found (apt-get install busybox-static)")
}

var busyboxApplets = []string{"sh", "ash", "cat", "echo", "ls", "mkdir", "rm", "cp", "mv", "sleep", "env",
	"httpd", "nc", "wget", "true", "false", "test", "[", "printf", "sed", "grep", "id", "ps", "kill", "date", "head", "tail", "wc", "touch", "chmod", "ln", "pwd", "uname", "hostname"}

func busyboxRootfs(bin []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := []string{"bin/", "etc/", "tmp/", "www/", "root/", "usr/", "usr/bin/", "var/", "proc/", "sys/", "dev/"}
	for _, d := range dirs {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: mode}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin))}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	for _, a := range busyboxApplets {
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}); err != nil {
			return nil, err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":  "root:x:0:\nnogroup:x:65534:\n",
	}
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
