package builder

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/wharfhq/wharf"
)

// source is one commit's tree, read from a bare repository plus any extra
// object directories (a push's quarantine). It only reads: nothing is ever
// written to the repository or the extra directories.
type source struct {
	commit plumbing.Hash
	tree   *object.Tree
	store  storer.EncodedObjectStorer
	stores []*filesystem.Storage
	// dockerfileSuffix is appended to the root Dockerfile in the build
	// context: the image labels as one LABEL instruction, because the legacy
	// builder turns each build-option label into a step of its own (about a
	// second each).
	dockerfileSuffix string
}

// openSource opens commit's tree, looking for objects first in objectDirs,
// then in repoPath. Close it when done.
func openSource(repoPath string, objectDirs []string, commit string) (_ *source, err error) {
	if !plumbing.IsHash(commit) {
		return nil, wharf.Errorf(wharf.EINVALID, "invalid commit %q: want a full 40-character sha", commit)
	}
	s := &source{commit: plumbing.NewHash(commit)}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := s.openStores(repoPath, objectDirs); err != nil {
		return nil, err
	}
	c, err := object.GetCommit(s.store, s.commit)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, wharf.Errorf(wharf.ENOTFOUND, "commit %s not found", short(commit))
	}
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", short(commit), err)
	}
	if s.tree, err = c.Tree(); err != nil {
		return nil, fmt.Errorf("reading tree of commit %s: %w", short(commit), err)
	}
	return s, nil
}

// openStores opens one object storage per extra object dir, then the
// repository's, and chains them in that order.
func (s *source) openStores(repoPath string, objectDirs []string) error {
	if _, err := os.Stat(filepath.Join(repoPath, "objects")); err != nil {
		return fmt.Errorf("opening repository %s: %w", repoPath, err)
	}
	for _, dir := range objectDirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("object dir %s is not a directory: %w", dir, err)
		}
		s.stores = append(s.stores, filesystem.NewStorage(newObjectDirFS(dir), cache.NewObjectLRUDefault()))
	}
	s.stores = append(s.stores, filesystem.NewStorage(osfs.New(repoPath), cache.NewObjectLRUDefault()))
	s.store = newChain(s.stores)
	return nil
}

// Close releases open pack files.
func (s *source) Close() error {
	var errs []error
	for _, st := range s.stores {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}

// short is the abbreviated sha shown to users.
func short(commit string) string {
	if len(commit) > 7 {
		return commit[:7]
	}
	return commit
}
