package builder

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/moby/patternmatcher"
)

// modTimeUnix is the mtime of every file in a build context, so the same
// commit always gives the same tar.
const modTimeUnix = 0

// WriteSourceTar writes commit's tree to w as a tar build context: files with
// their executable bit, symlinks as symlinks, directories, a fixed mtime.
// Paths excluded by the tree's .dockerignore are left out (Dockerfile and
// .dockerignore are always sent); submodules are left out and reported in
// warnings, one line each.
func WriteSourceTar(ctx context.Context, repoPath string, objectDirs []string, commit string, w io.Writer) (warnings []string, err error) {
	src, err := openSource(repoPath, objectDirs, commit)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	entries, warnings, err := src.listEntries()
	if err != nil {
		return warnings, err
	}
	return warnings, src.writeTar(ctx, entries, w)
}

// entry is one path of the build context.
type entry struct {
	path string
	mode filemode.FileMode
	hash plumbing.Hash
}

// listEntries walks the tree in git's order and returns what goes into the
// build context, and a warning line for each thing that could not.
func (s *source) listEntries() ([]entry, []string, error) {
	pm, err := s.dockerignore()
	if err != nil {
		return nil, nil, err
	}
	w := &walker{pm: pm}
	if err := w.walk(s.tree, "", patternmatcher.MatchInfo{}); err != nil {
		return nil, w.warnings, fmt.Errorf("listing the tree of commit %s: %w", short(s.commit.String()), err)
	}
	return w.entries, w.warnings, nil
}

type walker struct {
	pm       *patternmatcher.PatternMatcher // nil: nothing is ignored
	entries  []entry
	warnings []string
}

func (w *walker) walk(t *object.Tree, dir string, parent patternmatcher.MatchInfo) error {
	for _, e := range t.Entries {
		p := path.Join(dir, e.Name)
		skip, info, err := w.ignored(p, parent)
		if err != nil {
			return err
		}
		switch {
		case e.Mode == filemode.Dir:
			if skip && !w.mayReinclude(p) {
				continue
			}
			if !skip {
				w.entries = append(w.entries, entry{path: p, mode: e.Mode, hash: e.Hash})
			}
			sub, err := t.Tree(e.Name)
			if err != nil {
				return fmt.Errorf("reading directory %s: %w", p, err)
			}
			if err := w.walk(sub, p, info); err != nil {
				return err
			}
		case skip:
		case e.Mode == filemode.Submodule:
			w.warnings = append(w.warnings, fmt.Sprintf("warning: submodule %s is not included in the build", p))
		case e.Mode.IsFile():
			w.entries = append(w.entries, entry{path: p, mode: e.Mode, hash: e.Hash})
		default:
			w.warnings = append(w.warnings, fmt.Sprintf("warning: %s has an unknown git mode %s and is not included in the build", p, e.Mode))
		}
	}
	return nil
}

// ignored reports whether .dockerignore excludes p, with Docker's semantics.
func (w *walker) ignored(p string, parent patternmatcher.MatchInfo) (bool, patternmatcher.MatchInfo, error) {
	if w.pm == nil {
		return false, patternmatcher.MatchInfo{}, nil
	}
	skip, info, err := w.pm.MatchesUsingParentResults(p, parent)
	if err != nil {
		return false, info, fmt.Errorf("matching %s against .dockerignore: %w", p, err)
	}
	return skip, info, nil
}

// mayReinclude reports whether an exclusion pattern (!dir/file) may bring
// back something under the ignored directory dir, as Docker decides it.
func (w *walker) mayReinclude(dir string) bool {
	if !w.pm.Exclusions() {
		return false
	}
	for _, pat := range w.pm.Patterns() {
		if pat.Exclusion() && strings.HasPrefix(pat.String()+"/", dir+"/") {
			return true
		}
	}
	return false
}

// writeTar writes entries as a tar stream to w.
func (s *source) writeTar(ctx context.Context, entries []entry, w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.writeEntry(tw, e); err != nil {
			return fmt.Errorf("adding %s to the build context: %w", e.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finishing the build context: %w", err)
	}
	return nil
}

func (s *source) writeEntry(tw *tar.Writer, e entry) error {
	hdr := &tar.Header{Name: e.path, ModTime: time.Unix(modTimeUnix, 0), Typeflag: tar.TypeReg, Mode: 0o644}
	switch e.mode {
	case filemode.Dir:
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, e.path+"/", 0o755
		return tw.WriteHeader(hdr)
	case filemode.Symlink:
		target, err := s.blob(e.hash)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, string(target), 0o777
		return tw.WriteHeader(hdr)
	case filemode.Executable:
		hdr.Mode = 0o755
	}
	if e.path == "Dockerfile" && s.dockerfileSuffix != "" {
		return s.writeDockerfile(tw, hdr, e.hash)
	}
	return s.writeBlob(tw, hdr, e.hash)
}

// writeDockerfile writes the root Dockerfile with dockerfileSuffix appended.
func (s *source) writeDockerfile(tw *tar.Writer, hdr *tar.Header, h plumbing.Hash) error {
	body, err := s.blob(h)
	if err != nil {
		return err
	}
	if len(body) > 0 && body[len(body)-1] != '\n' {
		body = append(body, '\n')
	}
	body = append(body, s.dockerfileSuffix...)
	hdr.Size = int64(len(body))
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = tw.Write(body)
	return err
}

// labelInstruction renders labels as one Dockerfile LABEL line, sorted.
func labelInstruction(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("LABEL")
	for _, k := range keys {
		b.WriteString(" " + strconv.Quote(k) + "=" + strconv.Quote(labels[k]))
	}
	b.WriteString("\n")
	return b.String()
}

func (s *source) writeBlob(tw *tar.Writer, hdr *tar.Header, h plumbing.Hash) error {
	b, err := object.GetBlob(s.store, h)
	if err != nil {
		return err
	}
	r, err := b.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	hdr.Size = b.Size
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, r)
	return err
}
