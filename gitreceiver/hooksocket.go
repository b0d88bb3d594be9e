package gitreceiver

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf"
)

// hookServer is the daemon side of the hook socket. Each receive-pack session
// registers its push under a random token that only its hook gets; the hook
// presents it, so a push can only be claimed once, by the session it belongs
// to, and runs with that session's context.
type hookServer struct {
	mu      sync.Mutex
	pending map[string]*pendingPush
	ln      net.Listener
	wg      sync.WaitGroup
}

type pendingPush struct {
	app, user, repo string
	ctx             context.Context
	claimed         bool
}

// listenUnix listens on path (0600), replacing a stale socket file.
func listenUnix(path string) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("removing stale hook socket: %w", err)
	}
	if err := ensureDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listening on hook socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("restricting hook socket: %w", err)
	}
	return ln, nil
}

// register records a push the session's hook may claim. Its context ends
// with the session (the client went away), when pushes are cancelled, or
// when done is called.
func (h *hookServer) register(sessCtx, pushes context.Context, p pendingPush) (string, func()) {
	token := rand.Text()
	ctx, cancel := context.WithCancel(sessCtx)
	stop := context.AfterFunc(pushes, cancel)
	p.ctx = ctx
	h.mu.Lock()
	h.pending[token] = &p
	h.mu.Unlock()
	done := func() {
		h.mu.Lock()
		delete(h.pending, token)
		h.mu.Unlock()
		stop()
		cancel()
	}
	return token, done
}

// claim turns a hook's request into the Push of its session.
func (h *hookServer) claim(req hookRequest) (Push, context.Context, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.pending[req.Token]
	switch {
	case req.Token == "" || p == nil:
		return Push{}, nil, wharf.Errorf(wharf.EFORBIDDEN, "this push did not come through wharf's SSH server")
	case p.claimed:
		return Push{}, nil, wharf.Errorf(wharf.ECONFLICT, "this push was already handed to wharf")
	case req.App != p.app || req.User != p.user:
		return Push{}, nil, wharf.Errorf(wharf.EFORBIDDEN, "the hook's app or user does not match its session")
	}
	q, err := quarantineDir(p.repo, req.QuarantineDir)
	if err != nil {
		return Push{}, nil, err
	}
	p.claimed = true
	return Push{App: p.app, User: p.user, Refs: req.Refs, RepoPath: p.repo, QuarantineDir: q}, p.ctx, nil
}

// quarantineDir checks that git's quarantine is inside the repo's objects.
func quarantineDir(repo, dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	clean := filepath.Clean(dir)
	if !filepath.IsAbs(clean) || !strings.HasPrefix(clean, filepath.Join(repo, "objects")+string(filepath.Separator)) {
		return "", wharf.Errorf(wharf.EINVALID, "unexpected quarantine directory %q", dir)
	}
	return clean, nil
}

// serve accepts hook connections until close.
func (h *hookServer) serve(ln net.Listener, s *Server) {
	h.mu.Lock()
	h.ln = ln
	h.mu.Unlock()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				s.serveHookConn(c)
			}()
		}
	}()
}

// close stops accepting, waits for the connections being served and
// removes the socket file.
func (h *hookServer) close() {
	h.mu.Lock()
	ln := h.ln
	h.mu.Unlock()
	if ln == nil {
		return
	}
	ln.Close() // a Unix listener removes its socket file
	h.wg.Wait()
}

// serveHookConn hands one push to the PushHandler and relays its output and
// verdict to the hook.
func (s *Server) serveHookConn(c net.Conn) {
	defer c.Close()
	w := &frameWriter{conn: c}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	req, err := readRequest(c)
	if err != nil {
		s.log.Warn("bad hook request", "err", err)
		w.finish("bad request from the hook", false)
		return
	}
	c.SetReadDeadline(time.Time{})
	p, ctx, err := s.hook.claim(req)
	if err != nil {
		w.finish(wharf.ErrorMessage(err), false)
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // the hook sends nothing more: a read returns when it hangs up
		io.Copy(io.Discard, c)
		cancel()
	}()
	err = s.cfg.Pushes.HandlePush(ctx, p, w)
	if err != nil {
		err = s.pushError(p, err)
	}
	if ferr := w.finish(wharf.ErrorMessage(err), err == nil); ferr != nil {
		s.log.Warn("could not tell the hook how the push ended", "app", p.App, "err", ferr)
	}
}

// pushError is the error the pusher sees for a failed push.
func (s *Server) pushError(p Push, err error) error {
	if s.pushCtx.Err() != nil {
		return wharf.Errorf(wharf.EUNAVAILABLE, "wharf is shutting down: the push was not applied, push again in a moment")
	}
	if wharf.ErrorCode(err) == wharf.EINTERNAL {
		s.log.Error("push failed", "app", p.App, "user", p.User, "err", err)
	}
	return err
}
