package builder

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf"
)

// sampleApp commits a small app: a text file, an executable script, a
// symlink, a subdirectory, ignored files, a re-included one and a submodule.
func sampleApp(t testing.TB, dockerfile string) (*gitRepo, string) {
	t.Helper()
	r := newGitRepo(t)
	r.write(map[string]string{
		"Dockerfile":       dockerfile,
		".dockerignore":    "secret.txt\nlogs\ndocs/**\n!docs/keep.md\nDockerfile\n.dockerignore\n",
		"hello.txt":        "hello from wharf\n",
		"bin/run.sh":       "#!/bin/sh\necho script ran\n",
		"secret.txt":       "do not ship\n",
		"logs/today.log":   "noise\n",
		"docs/drop.md":     "dropped\n",
		"docs/keep.md":     "kept\n",
		"src/deep/file.go": "package deep\n",
	})
	r.symlink("link.txt", "hello.txt")
	r.submodule("vendor/lib")
	return r, r.commit("sample app")
}

type tarEntry struct {
	hdr  tar.Header
	body string
}

func readTar(t *testing.T, b []byte) map[string]tarEntry {
	t.Helper()
	got := map[string]tarEntry{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		body, _ := io.ReadAll(tr)
		got[hdr.Name] = tarEntry{hdr: *hdr, body: string(body)}
	}
}

func TestWriteSourceTar(t *testing.T) {
	r, commit := sampleApp(t, "FROM scratch\n")
	var buf bytes.Buffer
	warnings, err := WriteSourceTar(context.Background(), r.bare, nil, commit, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"warning: submodule vendor/lib is not included in the build"}; strings.Join(warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}
	got := readTar(t, buf.Bytes())

	wantFiles := map[string]int64{"Dockerfile": 0o644, ".dockerignore": 0o644, "hello.txt": 0o644, "bin/run.sh": 0o755, "docs/keep.md": 0o644, "src/deep/file.go": 0o644}
	for name, mode := range wantFiles {
		e, ok := got[name]
		if !ok {
			t.Errorf("%s missing from the tar", name)
			continue
		}
		if e.hdr.Typeflag != tar.TypeReg || e.hdr.Mode != mode {
			t.Errorf("%s: type %c mode %o, want a regular file with mode %o", name, e.hdr.Typeflag, e.hdr.Mode, mode)
		}
	}
	if got["hello.txt"].body != "hello from wharf\n" {
		t.Errorf("hello.txt = %q", got["hello.txt"].body)
	}
	if l := got["link.txt"]; l.hdr.Typeflag != tar.TypeSymlink || l.hdr.Linkname != "hello.txt" {
		t.Errorf("link.txt: type %c -> %q, want a symlink to hello.txt", l.hdr.Typeflag, l.hdr.Linkname)
	}
	for _, dir := range []string{"bin/", "src/", "src/deep/"} {
		if e, ok := got[dir]; !ok || e.hdr.Typeflag != tar.TypeDir {
			t.Errorf("directory %s missing from the tar", dir)
		}
	}
	for _, name := range []string{"secret.txt", "logs/", "logs/today.log", "docs/drop.md", "vendor/lib", "vendor/lib/", "vendor/lib/lib.txt"} {
		if _, ok := got[name]; ok {
			t.Errorf("%s is in the tar; .dockerignore or submodule rules should leave it out", name)
		}
	}
	for name, e := range got {
		if !e.hdr.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s has mtime %v, want the fixed epoch", name, e.hdr.ModTime)
		}
	}

	var again bytes.Buffer
	if _, err := WriteSourceTar(context.Background(), r.bare, nil, commit, &again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two tars of the same commit differ")
	}
}

func TestWriteSourceTarWithoutDockerignore(t *testing.T) {
	r := newGitRepo(t)
	r.write(map[string]string{"Dockerfile": "FROM scratch\n", "secret.txt": "x\n"})
	commit := r.commit("no ignore file")
	var buf bytes.Buffer
	if _, err := WriteSourceTar(context.Background(), r.bare, nil, commit, &buf); err != nil {
		t.Fatal(err)
	}
	got := readTar(t, buf.Bytes())
	if _, ok := got["secret.txt"]; !ok || len(got) != 2 {
		t.Errorf("tar has %d entries, want Dockerfile and secret.txt", len(got))
	}
}

func TestReadFile(t *testing.T) {
	r, commit := sampleApp(t, "FROM scratch\n")
	for name, want := range map[string]string{"hello.txt": "hello from wharf\n", "link.txt": "hello from wharf\n", "bin/run.sh": "#!/bin/sh\necho script ran\n", "/docs/keep.md": "kept\n"} {
		b, err := ReadFile(r.bare, nil, commit, name)
		if err != nil || string(b) != want {
			t.Errorf("ReadFile(%s) = %q, %v; want %q", name, b, err, want)
		}
	}
	for _, name := range []string{"Procfile", "bin", "bin/nope", "vendor/lib", "../hello.txt", ""} {
		_, err := ReadFile(r.bare, nil, commit, name)
		if wharf.ErrorCode(err) != wharf.ENOTFOUND {
			t.Errorf("ReadFile(%q) error = %v, want ENOTFOUND", name, err)
		}
	}
	if _, err := ReadFile(r.bare, nil, strings.Repeat("ab", 20), "hello.txt"); wharf.ErrorCode(err) != wharf.ENOTFOUND || !strings.Contains(err.Error(), "ababab") {
		t.Errorf("unknown commit: error = %v, want ENOTFOUND naming it", err)
	}
	if _, err := ReadFile(r.bare, nil, "HEAD", "hello.txt"); wharf.ErrorCode(err) != wharf.EINVALID {
		t.Errorf("commit HEAD: error = %v, want EINVALID", err)
	}
}

func TestReadFileFromQuarantine(t *testing.T) {
	for _, unpackLimit := range []string{"100", "1"} { // loose objects, then a kept pack
		t.Run("unpackLimit="+unpackLimit, func(t *testing.T) {
			r, _ := sampleApp(t, "FROM scratch\n")
			r.run(r.bare, "gc", "-q") // the repository's own objects in a pack
			r.run(r.bare, "config", "receive.unpackLimit", unpackLimit)
			r.write(map[string]string{"hello.txt": "hello again\n", "new/Procfile": "web: ./run\n"})
			commit, objDir := r.pushQuarantined("second")

			if _, err := ReadFile(r.bare, nil, commit, "hello.txt"); wharf.ErrorCode(err) != wharf.ENOTFOUND {
				t.Fatalf("without the quarantine dir: error = %v, want ENOTFOUND", err)
			}
			for name, want := range map[string]string{"hello.txt": "hello again\n", "new/Procfile": "web: ./run\n", "bin/run.sh": "#!/bin/sh\necho script ran\n"} {
				b, err := ReadFile(r.bare, []string{objDir}, commit, name)
				if err != nil || string(b) != want {
					t.Errorf("ReadFile(%s) = %q, %v; want %q", name, b, err, want)
				}
			}
		})
	}
}

func BenchmarkWriteSourceTar(b *testing.B) {
	r, commit := sampleApp(b, "FROM scratch\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := WriteSourceTar(context.Background(), r.bare, nil, commit, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
