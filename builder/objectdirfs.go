package builder

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
)

// objectDirFS shows an object directory as a read-only git dir whose
// "objects" is that directory: go-git looks for objects under a git dir's
// "objects", and a push's quarantine directory is named otherwise. Every
// write fails, so the quarantine is never touched.
type objectDirFS struct {
	billy.Filesystem // the object directory
}

func newObjectDirFS(dir string) objectDirFS {
	return objectDirFS{Filesystem: osfs.New(dir)}
}

// inner maps a git-dir path to a path in the object directory.
func (f objectDirFS) inner(op, name string) (string, error) {
	p := path.Clean(strings.TrimPrefix(filepath.ToSlash(name), "/"))
	if p == "objects" {
		return "/", nil
	}
	rest, ok := strings.CutPrefix(p, "objects/")
	if !ok {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return rest, nil
}

func (f objectDirFS) readOnly(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: errReadOnly}
}

func (f objectDirFS) Open(name string) (billy.File, error) {
	return f.OpenFile(name, os.O_RDONLY, 0)
}

func (f objectDirFS) OpenFile(name string, flag int, perm os.FileMode) (billy.File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0 {
		return nil, f.readOnly("open", name)
	}
	p, err := f.inner("open", name)
	if err != nil {
		return nil, err
	}
	return f.Filesystem.OpenFile(p, flag, perm)
}

func (f objectDirFS) Stat(name string) (os.FileInfo, error) {
	p, err := f.inner("stat", name)
	if err != nil {
		return nil, err
	}
	return f.Filesystem.Stat(p)
}

func (f objectDirFS) Lstat(name string) (os.FileInfo, error) {
	p, err := f.inner("lstat", name)
	if err != nil {
		return nil, err
	}
	return f.Filesystem.Lstat(p)
}

func (f objectDirFS) ReadDir(name string) ([]os.FileInfo, error) {
	p, err := f.inner("readdir", name)
	if err != nil {
		return nil, err
	}
	return f.Filesystem.ReadDir(p)
}

func (f objectDirFS) Readlink(name string) (string, error) {
	p, err := f.inner("readlink", name)
	if err != nil {
		return "", err
	}
	return f.Filesystem.Readlink(p)
}

func (f objectDirFS) Create(name string) (billy.File, error) { return nil, f.readOnly("create", name) }
func (f objectDirFS) Remove(name string) error               { return f.readOnly("remove", name) }
func (f objectDirFS) Rename(from, _ string) error            { return f.readOnly("rename", from) }
func (f objectDirFS) Symlink(_, link string) error           { return f.readOnly("symlink", link) }
func (f objectDirFS) MkdirAll(name string, _ os.FileMode) error {
	return f.readOnly("mkdir", name)
}
func (f objectDirFS) TempFile(dir, _ string) (billy.File, error) {
	return nil, f.readOnly("tempfile", dir)
}
func (f objectDirFS) Chroot(name string) (billy.Filesystem, error) {
	return nil, f.readOnly("chroot", name)
}
