package gitreceiver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/wharfhq/wharf"
)

// RepoPath returns the path of app's bare repository: <reposDir>/<app>.git.
// Callers pass a validated app name.
func RepoPath(reposDir, app string) string {
	return filepath.Join(reposDir, app+".git")
}

// RemoveRepo deletes app's bare repository; a missing one is not an error.
// The removal cannot leave reposDir, even through symlinks.
func RemoveRepo(reposDir, app string) error {
	if err := wharf.ValidateAppName(app); err != nil {
		return err
	}
	root, err := os.OpenRoot(reposDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening repos dir: %w", err)
	}
	defer root.Close()
	if err := root.RemoveAll(app + ".git"); err != nil {
		return fmt.Errorf("removing repo of %s: %w", app, err)
	}
	return nil
}

// repoExists reports whether app's bare repository has been created.
func repoExists(reposDir, app string) (bool, error) {
	_, err := os.Stat(filepath.Join(RepoPath(reposDir, app), "HEAD"))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("checking repo of %s: %w", app, err)
}

// prepareRepo creates app's bare repository if missing (HEAD on main) and
// (re)writes its pre-receive hook so it runs the current binary.
func (s *Server) prepareRepo(ctx context.Context, app string) (string, error) {
	s.repoMu.Lock()
	defer s.repoMu.Unlock()
	repo := RepoPath(s.cfg.ReposDir, app)
	exists, err := repoExists(s.cfg.ReposDir, app)
	if err != nil {
		return "", err
	}
	if !exists {
		if err := s.initRepo(ctx, repo); err != nil {
			return "", err
		}
	}
	if err := writeHook(repo, s.cfg.HookBinary); err != nil {
		return "", err
	}
	return repo, nil
}

func (s *Server) initRepo(ctx context.Context, repo string) error {
	cmd := exec.CommandContext(ctx, "git", "init", "--quiet", "--bare", "--template=", "--initial-branch=main", repo)
	cmd.Env = s.gitEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("git init %s: %w: %s", repo, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// hookScript is the pre-receive hook: it re-runs the wharf binary, which
// talks to the daemon.
func hookScript(binary string) []byte {
	return []byte("#!/bin/sh\n" +
		"# Written by wharf on every push: hands the push to the wharf daemon.\n" +
		"exec " + shellQuote(binary) + " hook pre-receive\n")
}

func writeHook(repo, binary string) error {
	dir := filepath.Join(repo, "hooks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating hooks dir: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, "pre-receive"), hookScript(binary), 0o755)
}

// shellQuote single-quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
