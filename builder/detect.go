package builder

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/wharfhq/wharf"
)

// A detector decides whether it knows how to build a tree. Detectors are
// tried in order; the first that matches builds the app.
type detector struct {
	kind string // what it builds, e.g. "Dockerfile"
	apps string // the apps it builds, e.g. "a Dockerfile"
	// detect reports whether the tree matches and, either way, what it
	// looked for, e.g. "Dockerfile".
	detect func(tree *object.Tree) (match bool, reason string, err error)
}

// detectors lists, in order, the kinds of app Wharf builds.
func detectors() []detector {
	return []detector{
		{kind: "Dockerfile", apps: "a Dockerfile", detect: hasRootFile("Dockerfile")},
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

// detect returns the first detector matching the tree, or an EINVALID error
// saying what each detector looked for.
func (s *source) detect(ds []detector) (detector, error) {
	var kinds, apps, looked []string
	for _, d := range ds {
		ok, reason, err := d.detect(s.tree)
		if err != nil {
			return detector{}, fmt.Errorf("detecting how to build commit %s: %w", short(s.commit.String()), err)
		}
		if ok {
			return d, nil
		}
		kinds, apps, looked = append(kinds, d.kind), append(apps, d.apps), append(looked, reason)
	}
	return detector{}, wharf.Errorf(wharf.EINVALID, "no %s at the root of commit %s: Wharf builds apps that have %s (looked for: %s)",
		strings.Join(kinds, " or "), short(s.commit.String()), strings.Join(apps, " or "), strings.Join(looked, "; "))
}
