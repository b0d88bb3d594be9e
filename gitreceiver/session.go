package gitreceiver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/wharfhq/wharf"
)

// sessionLog is what each session logs when it ends.
type sessionLog struct {
	user, fingerprint, app string
}

// handleSession runs one SSH session: an allowed git command or one line
// saying why not, then the exit status.
func (s *Server) handleSession(sess ssh.Session) {
	start := time.Now()
	if !s.enter() {
		s.refuse(sess, wharf.Errorf(wharf.EUNAVAILABLE, "the server is shutting down, try again in a moment"))
		sess.Exit(1)
		return
	}
	defer s.sessions.Done()
	var info sessionLog
	code := s.runSession(sess, &info)
	s.log.Info("ssh session",
		"user", info.user, "fingerprint", info.fingerprint, "command", sess.RawCommand(),
		"app", info.app, "duration", time.Since(start), "exit", code,
		"remote", sess.RemoteAddr().String())
	sess.Exit(code)
}

func (s *Server) runSession(sess ssh.Session, info *sessionLog) int {
	key, err := s.sessionKey(sess)
	if err != nil {
		return s.refuse(sess, err)
	}
	info.user, info.fingerprint = key.Owner, key.Fingerprint
	cmd, err := parseCommand(sess.RawCommand())
	if err != nil {
		return s.refuse(sess, err)
	}
	info.app = cmd.app
	if s.cfg.Access != nil {
		if err := s.cfg.Access.CanAccess(sess.Context(), key.Owner, cmd.app); err != nil {
			return s.refuse(sess, err)
		}
	}
	var code int
	switch cmd.service {
	case receivePack:
		code, err = s.receivePack(sess, key, cmd.app)
	case uploadPack:
		code, err = s.uploadPack(sess, cmd.app)
	}
	if err != nil {
		return s.refuse(sess, err)
	}
	return code
}

// sessionKey returns the key the session authenticated with, looked up again
// so a key removed since the handshake no longer works.
func (s *Server) sessionKey(sess ssh.Session) (wharf.Key, error) {
	pk := sess.PublicKey()
	if pk == nil {
		return wharf.Key{}, wharf.Errorf(wharf.EUNAUTHORIZED, "no public key")
	}
	k, err := s.lookupKey(sess.Context(), gossh.FingerprintSHA256(pk))
	if wharf.ErrorCode(err) == wharf.ENOTFOUND {
		return wharf.Key{}, wharf.Errorf(wharf.EUNAUTHORIZED, "your key is no longer allowed")
	}
	return k, err
}

// refuse writes err as one line on stderr and returns exit status 1.
// Internal errors are logged and shown as a generic message.
func (s *Server) refuse(sess ssh.Session, err error) int {
	if wharf.ErrorCode(err) == wharf.EINTERNAL && !errors.Is(err, context.Canceled) {
		s.log.Error("ssh session failed", "command", sess.RawCommand(), "err", err)
	}
	fmt.Fprintf(sess.Stderr(), "wharf: %s\n", wharf.ErrorMessage(err))
	return 1
}

// receivePack makes sure the app and its repo exist, then runs
// `git receive-pack` with the hook wired to this session.
func (s *Server) receivePack(sess ssh.Session, key wharf.Key, app string) (int, error) {
	ctx := sess.Context()
	if _, _, err := s.cfg.Apps.EnsureApp(ctx, app); err != nil {
		return 0, fmt.Errorf("ensuring app %s: %w", app, err)
	}
	repo, err := s.prepareRepo(ctx, app)
	if err != nil {
		return 0, err
	}
	token, done := s.hook.register(ctx, s.pushCtx, pendingPush{app: app, user: key.Owner, repo: repo})
	defer done()
	env := append(s.gitEnv(),
		envHookSocket+"="+s.cfg.SocketPath,
		envHookToken+"="+token,
		envApp+"="+app,
		envUser+"="+key.Owner)
	return runGit(ctx, sess, env, receivePack, repo)
}

// uploadPack serves fetches and clones of an app that has been pushed.
func (s *Server) uploadPack(sess ssh.Session, app string) (int, error) {
	exists, err := repoExists(s.cfg.ReposDir, app)
	if err != nil {
		return 0, err
	}
	if !exists {
		return 0, wharf.Errorf(wharf.ENOTFOUND, "app %q not found (or nothing pushed to it yet)", app)
	}
	return runGit(sess.Context(), sess, s.gitEnv(), uploadPack, RepoPath(s.cfg.ReposDir, app))
}
