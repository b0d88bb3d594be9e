package builder

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/wharfhq/wharf"
)

// maxLinks bounds how many symlinks ReadFile follows, so a loop ends.
const maxLinks = 8

// ReadFile returns the content of the file name (a slash-separated path from
// the root) in commit's tree, following symlinks that stay inside the tree.
// It returns an ENOTFOUND *wharf.Error when there is no such file.
func ReadFile(repoPath string, objectDirs []string, commit, name string) ([]byte, error) {
	src, err := openSource(repoPath, objectDirs, commit)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return src.readFile(name)
}

func (s *source) readFile(name string) ([]byte, error) {
	p := path.Clean(strings.TrimPrefix(name, "/"))
	for range maxLinks {
		if p == "." || p == ".." || strings.HasPrefix(p, "../") {
			break
		}
		e, err := s.tree.FindEntry(p)
		if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("looking up %s in commit %s: %w", name, short(s.commit.String()), err)
		}
		switch {
		case e.Mode == filemode.Symlink:
			target, err := s.blob(e.Hash)
			if err != nil || path.IsAbs(string(target)) {
				return nil, s.notFound(name, err)
			}
			p = path.Clean(path.Join(path.Dir(p), string(target)))
		case e.Mode.IsFile():
			b, err := s.blob(e.Hash)
			if err != nil {
				return nil, fmt.Errorf("reading %s in commit %s: %w", name, short(s.commit.String()), err)
			}
			return b, nil
		default:
			return nil, s.notFound(name, nil)
		}
	}
	return nil, s.notFound(name, nil)
}

func (s *source) notFound(name string, err error) error {
	if err != nil {
		return fmt.Errorf("reading %s in commit %s: %w", name, short(s.commit.String()), err)
	}
	return wharf.Errorf(wharf.ENOTFOUND, "no file %s in commit %s", name, short(s.commit.String()))
}

// blob returns the whole content of the blob h.
func (s *source) blob(h plumbing.Hash) ([]byte, error) {
	b, err := object.GetBlob(s.store, h)
	if err != nil {
		return nil, err
	}
	r, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
