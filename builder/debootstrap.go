package builder

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/docker/docker/api/types/image"
)

// debianMirror is where debootstrap fetches bookworm from.
const debianMirror = "http://deb.debian.org/debian"

func debootstrapArgs(root string) []string {
	return []string{"--variant=minbase", "bookworm", root, debianMirror}
}

// debootstrap makes a minimal bookworm rootfs and imports it as tag.
func (b *Builder) debootstrap(ctx context.Context, tag string, out io.Writer) error {
	bin, err := exec.LookPath("debootstrap")
	if err != nil {
		bin = "/usr/sbin/debootstrap"
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("making the stack's base image: %s cannot be pulled and debootstrap is not installed (apt-get install debootstrap): %w", debianImage, err)
	}
	dir, err := os.MkdirTemp("", "wharf-rootfs-")
	if err != nil {
		return fmt.Errorf("making the stack's base image: %w", err)
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "rootfs")
	fmt.Fprintf(out, "-----> Making %s with debootstrap from %s\n", tag, debianMirror)
	start := time.Now()
	cmd := exec.CommandContext(ctx, bin, debootstrapArgs(root)...)
	if err := runIndented(cmd, out); err != nil {
		return fmt.Errorf("debootstrap bookworm: %w", err)
	}
	for _, junk := range []string{"var/cache/apt/archives", "var/lib/apt/lists"} {
		matches, _ := filepath.Glob(filepath.Join(root, junk, "*"))
		for _, m := range matches {
			if filepath.Base(m) != "partial" && filepath.Base(m) != "lock" {
				os.RemoveAll(m)
			}
		}
	}
	if err := b.importRootfs(ctx, root, tag); err != nil {
		return err
	}
	fmt.Fprintf(out, "-----> Made %s in %s\n", tag, time.Since(start).Round(time.Second))
	return nil
}

// importRootfs tars root and imports it as the image tag.
func (b *Builder) importRootfs(ctx context.Context, root, tag string) error {
	tarCmd := exec.CommandContext(ctx, "tar", "-C", root, "--numeric-owner", "-cf", "-", ".")
	stdout, err := tarCmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := tarCmd.Start(); err != nil {
		return fmt.Errorf("archiving the rootfs: %w", err)
	}
	rc, err := b.docker.ImageImport(ctx, image.ImportSource{Source: stdout, SourceName: "-"}, tag, image.ImportOptions{})
	if err == nil {
		err = (&buildStream{out: io.Discard}).consume(rc)
		rc.Close()
	}
	io.Copy(io.Discard, stdout)
	if werr := tarCmd.Wait(); err == nil && werr != nil {
		err = werr
	}
	if err != nil {
		return fmt.Errorf("importing the rootfs as %s: %w", tag, err)
	}
	return nil
}

// runIndented runs cmd with its output written to out, indented.
func runIndented(cmd *exec.Cmd, out io.Writer) error {
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			fmt.Fprintf(out, "       %s\n", sc.Text())
		}
		io.Copy(io.Discard, pr)
	}()
	err := cmd.Run()
	pw.Close()
	<-done
	return err
}

// tarOf makes a small build context from files (name → content).
func tarOf(files map[string]string) (io.Reader, error) {
	return memTar(files)
}
