package main

import (
	"context"
	"os/exec"
	"strings"

	"github.com/wharfhq/wharf"
)

// resolveApp returns flagValue, or when it is empty the app named by the
// current git repository's "wharf" remote.
func resolveApp(ctx context.Context, flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if app, ok := appFromGitRemote(ctx); ok {
		return app, nil
	}
	return "", wharf.Errorf(wharf.EINVALID, `no app given: pass -a APP, or run this inside a git repository with a "wharf" remote`)
}

// appFromGitRemote reads `git remote get-url wharf` in the current
// directory and returns APP when the URL ends in /APP.git (or :APP.git).
func appFromGitRemote(ctx context.Context) (string, bool) {
	out, err := exec.CommandContext(ctx, "git", "remote", "get-url", "wharf").Output()
	if err != nil {
		return "", false
	}
	return appFromRemoteURL(strings.TrimSpace(string(out)))
}

// appFromRemoteURL extracts APP from a remote URL ending in /APP.git.
func appFromRemoteURL(u string) (string, bool) {
	rest, ok := strings.CutSuffix(u, ".git")
	if !ok {
		return "", false
	}
	name := rest[strings.LastIndexAny(rest, "/:")+1:]
	if wharf.ValidateAppName(name) != nil {
		return "", false
	}
	return name, true
}
