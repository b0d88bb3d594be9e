package builder

import (
	"bytes"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/wharfhq/wharf"
)

// dockerignore returns the matcher for the tree's root .dockerignore, or nil
// when there is none. Like Docker, Dockerfile and .dockerignore are always
// sent even when a pattern excludes them.
func (s *source) dockerignore() (*patternmatcher.PatternMatcher, error) {
	content, err := s.readFile(".dockerignore")
	if wharf.ErrorCode(err) == wharf.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	patterns, err := ignorefile.ReadAll(bytes.NewReader(content))
	if err != nil {
		return nil, wharf.Errorf(wharf.EINVALID, "invalid .dockerignore in commit %s: %v", short(s.commit.String()), err)
	}
	pm, err := patternmatcher.New(append(patterns, "!Dockerfile", "!.dockerignore"))
	if err != nil {
		return nil, wharf.Errorf(wharf.EINVALID, "invalid .dockerignore in commit %s: %v", short(s.commit.String()), err)
	}
	return pm, nil
}
