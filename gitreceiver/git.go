package gitreceiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/gliderlabs/ssh"
)

// gitEnv is the whole environment git runs with: nothing of the daemon's is
// inherited but PATH.
func (s *Server) gitEnv() []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	return []string{"PATH=" + path, "HOME=" + s.cfg.ReposDir}
}

// runGit runs `git <service> <repo>` with the session as its stdin, stdout
// and stderr, and returns git's exit status. It is killed when ctx ends (the
// client went away).
func runGit(ctx context.Context, sess ssh.Session, env []string, service, repo string) (int, error) {
	cmd := exec.CommandContext(ctx, "git", service, repo)
	cmd.Env = env
	cmd.Dir = repo
	cmd.Stdout = sess
	cmd.Stderr = sess.Stderr()
	cmd.WaitDelay = 10 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, fmt.Errorf("git %s: %w", service, err)
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting git %s: %w", service, err)
	}
	// Not waited for: it ends when the client closes its side or the
	// session's channel is closed after the exit status.
	go func() {
		io.Copy(stdin, sess)
		stdin.Close()
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return exit.ExitCode(), nil
	case ctx.Err() != nil:
		return 1, nil // the client is gone; nobody reads the status
	}
	return 0, fmt.Errorf("running git %s: %w", service, err)
}
