package builder

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/wharfhq/wharf"
)

// A detector decides whether it knows how to build a tree. Detectors are
// tried in order; the first that matches builds the app.
type detector struct {
	kind string // what it builds, e.g. "Dockerfile"
	apps string // the apps it builds, e.g. "a Dockerfile"
	// buildpack is the built-in buildpack (a directory of buildpacks/builtin)
	// that builds the app; "" for a Dockerfile build.
	buildpack string
	// detect reports whether the tree matches and, either way, what it
	// looked for, e.g. "Dockerfile".
	detect func(tree *object.Tree) (match bool, reason string, err error)
}

// detectors lists, in order, the kinds of app Wharf builds.
func detectors() []detector {
	return []detector{
		{kind: "Dockerfile", apps: "a Dockerfile", detect: hasRootFile("Dockerfile")},
		{kind: "Go", apps: "a go.mod", buildpack: "go", detect: hasRootFile("go.mod")},
		{kind: "Node.js", apps: "a package.json", buildpack: "nodejs", detect: hasRootFile("package.json")},
		{kind: "Python", apps: "a requirements.txt, pyproject.toml or Pipfile", buildpack: "python",
			detect: anyOf(hasRootFile("requirements.txt"), hasRootFile("pyproject.toml"), hasRootFile("Pipfile"))},
		{kind: "static", apps: "an index.html or a public/ directory", buildpack: "static",
			detect: anyOf(hasRootFile("index.html"), hasRootDir("public"))},
		{kind: "Procfile", apps: "a Procfile", buildpack: "procfile", detect: hasRootFile("Procfile")},
	}
}

// hasRootFile matches trees with a file (or symlink) name at the root.
func hasRootFile(name string) func(*object.Tree) (bool, string, error) {
	return func(tree *object.Tree) (bool, string, error) {
		e, err := tree.FindEntry(name)
		if errors.Is(err, object.ErrEntryNotFound) {
			return false, name, nil
		}
		if err != nil {
			return false, name, fmt.Errorf("looking for %s: %w", name, err)
		}
		return e.Mode.IsFile(), name, nil
	}
}

// hasRootDir matches trees with a directory name at the root.
func hasRootDir(name string) func(*object.Tree) (bool, string, error) {
	return func(tree *object.Tree) (bool, string, error) {
		e, err := tree.FindEntry(name)
		if errors.Is(err, object.ErrEntryNotFound) {
			return false, name + "/", nil
		}
		if err != nil {
			return false, name + "/", fmt.Errorf("looking for %s/: %w", name, err)
		}
		return e.Mode == filemode.Dir, name + "/", nil
	}
}

// anyOf matches when one of ds does; the reason lists what each looked for.
func anyOf(ds ...func(*object.Tree) (bool, string, error)) func(*object.Tree) (bool, string, error) {
	return func(tree *object.Tree) (bool, string, error) {
		var looked []string
		for _, d := range ds {
			ok, reason, err := d(tree)
			if ok || err != nil {
				return ok, reason, err
			}
			looked = append(looked, reason)
		}
		return false, strings.Join(looked, ", "), nil
	}
}

// detect returns the first detector matching the tree, or an EINVALID error
// saying what each detector looked for.
func (s *source) detect(ds []detector) (detector, error) {
	var looked []string
	for _, d := range ds {
		ok, reason, err := d.detect(s.tree)
		if err != nil {
			return detector{}, fmt.Errorf("detecting how to build commit %s: %w", short(s.commit.String()), err)
		}
		if ok {
			return d, nil
		}
		looked = append(looked, d.kind+": "+reason)
	}
	return detector{}, wharf.Errorf(wharf.EINVALID, "no buildpack detected an app at the root of commit %s (looked for %s); set BUILDPACK_URL or add a .buildpacks file to choose one",
		short(s.commit.String()), strings.Join(looked, "; "))
}
