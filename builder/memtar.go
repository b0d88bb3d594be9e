package builder

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// memTar makes a tar of files (slash path → content) in memory, in name
// order; parent directories are implied.
func memTar(files map[string]string) (io.Reader, error) {
	return memTarMode(files, 0)
}

// memTarMode is memTar with every file's mode set to mode (0: 0644, or
// 0755 for scripts).
func memTarMode(files map[string]string, fixed int64) (io.Reader, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		mode := int64(0o644)
		if isExecutable(n, files[n]) {
			mode = 0o755
		}
		if fixed != 0 {
			mode = fixed
		}
		hdr := &tar.Header{Name: n, Mode: mode, Size: int64(len(files[n])), ModTime: time.Unix(modTimeUnix, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := io.WriteString(tw, files[n]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

// isExecutable tells the scripts among embedded files, which lose their
// mode bits: anything under bin/, a .sh, or a file starting with #!.
func isExecutable(name, content string) bool {
	return strings.Contains("/"+name, "/bin/") || strings.HasSuffix(name, ".sh") || strings.HasPrefix(content, "#!")
}

// fsFiles reads every regular file of fsys under prefix/ (slash paths).
func fsFiles(fsys fs.FS, prefix string, into map[string]string) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		into[path.Join(prefix, p)] = string(b)
		return nil
	})
}
