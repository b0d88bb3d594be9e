// Package gitreceiver owns git over SSH for Wharf: the SSH server users
// `git push` to (public-key auth, a strict allow-list of commands), the bare
// repositories under one directory, the real `git receive-pack` and
// `git upload-pack` run as subprocesses behind the SSH channel, and the
// pre-receive hook: a generated script that re-runs the wharf binary, which
// hands the push to the daemon over a Unix socket, streams the daemon's output
// back to the pusher and rejects the push when the daemon says so.
package gitreceiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/gliderlabs/ssh"

	"github.com/wharfhq/wharf"
)

// KeyLookup finds the SSH key allowed to push by its fingerprint (as
// ssh.FingerprintSHA256 prints it); an unknown key is an ENOTFOUND error.
type KeyLookup interface {
	KeyByFingerprint(ctx context.Context, fingerprint string) (wharf.Key, error)
}

// AppEnsurer returns the app, creating it if missing; the bool reports
// whether it was created.
type AppEnsurer interface {
	EnsureApp(ctx context.Context, name string) (wharf.App, bool, error)
}

// RefUpdate is one ref a push updates, as git gives it to pre-receive. A zero
// Old hash is a create, a zero New hash a delete.
type RefUpdate struct {
	Old  string `json:"old"`
	New  string `json:"new"`
	Name string `json:"name"`
}

// Push is what the pre-receive hook hands to the daemon.
type Push struct {
	App, User string // User is the Owner of the key that pushed
	Refs      []RefUpdate
	RepoPath  string // absolute path of the bare repo
	// QuarantineDir is where the pushed objects are until the hook accepts
	// (the hook's GIT_QUARANTINE_PATH); empty if git gave none.
	QuarantineDir string
}

// PushHandler takes a push while git waits in its pre-receive hook. What it
// writes to out reaches the pusher as `remote:` lines as it is written. A
// non-nil error rejects the push: git leaves the refs unchanged and the pusher
// sees "error: " and the error's wharf.ErrorMessage as a last line (so return
// a *wharf.Error for text the pusher should read). ctx ends when the pusher
// disconnects or the server shuts down.
type PushHandler interface {
	HandlePush(ctx context.Context, p Push, out io.Writer) error
}

// AccessChecker says whether a user may push to or fetch an app; an error
// (EFORBIDDEN, with a message for the user) refuses the session.
type AccessChecker interface {
	CanAccess(ctx context.Context, user, app string) error
}

// Config configures a Server.
type Config struct {
	Addr        string // e.g. ":2222"
	HostKeyPath string // ed25519 host key, generated (0600, OpenSSH PEM) if missing
	ReposDir    string
	SocketPath  string // Unix socket for hook ↔ daemon (0600)
	HookBinary  string // absolute path of the binary the hook script execs with args: hook pre-receive
	Keys        KeyLookup
	Apps        AppEnsurer
	Pushes      PushHandler
	Access      AccessChecker // optional: nil lets every key reach every app
	Logger      *slog.Logger
}

// Server is the SSH server git pushes to and the socket its hooks call.
type Server struct {
	cfg  Config
	log  *slog.Logger
	ssh  *ssh.Server
	hook hookServer

	// pushCtx is the parent of every push; cancelPushes ends them all when
	// Shutdown runs out of time.
	pushCtx      context.Context
	cancelPushes context.CancelFunc

	mu       sync.Mutex
	closing  bool
	serving  bool
	ln       net.Listener
	sessions sync.WaitGroup // sessions running a command
	repoMu   sync.Mutex     // serialises creating repos and writing hooks
	shutdown chan struct{}  // closed when Shutdown has finished
	once     sync.Once
}

// New checks cfg, loads or generates the host key and creates the repos
// directory. Nothing listens until Serve.
func New(cfg Config) (*Server, error) {
	if err := checkConfig(&cfg); err != nil {
		return nil, err
	}
	signer, err := loadHostKey(cfg.HostKeyPath)
	if err != nil {
		return nil, err
	}
	if err := ensureDir(cfg.ReposDir); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, shutdown: make(chan struct{})}
	s.pushCtx, s.cancelPushes = context.WithCancel(context.Background())
	s.hook = hookServer{pending: map[string]*pendingPush{}}
	s.ssh = s.newSSHServer(signer)
	return s, nil
}

func checkConfig(cfg *Config) error {
	switch {
	case cfg.Keys == nil || cfg.Apps == nil || cfg.Pushes == nil:
		return errors.New("gitreceiver: Keys, Apps and Pushes are required")
	case cfg.HostKeyPath == "" || cfg.ReposDir == "" || cfg.SocketPath == "":
		return errors.New("gitreceiver: HostKeyPath, ReposDir and SocketPath are required")
	case !filepath.IsAbs(cfg.HookBinary):
		return fmt.Errorf("gitreceiver: HookBinary must be an absolute path, got %q", cfg.HookBinary)
	}
	dir, err := filepath.Abs(cfg.ReposDir)
	if err != nil {
		return fmt.Errorf("gitreceiver: repos dir: %w", err)
	}
	cfg.ReposDir = dir
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// ListenAndServe listens on cfg.Addr and serves until Shutdown or ctx ends.
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening for ssh on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves SSH on ln and the hook socket on cfg.SocketPath until Shutdown
// (then it returns nil at once) or until ctx ends (then it shuts down without
// waiting for pushes and returns once that is done).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hookLn, err := listenUnix(s.cfg.SocketPath)
	if err != nil {
		ln.Close()
		return err
	}
	if err := s.startServing(ln); err != nil {
		hookLn.Close()
		ln.Close()
		return err
	}
	s.hook.serve(hookLn, s)
	stop := context.AfterFunc(ctx, func() {
		expired, cancel := context.WithCancel(context.Background())
		cancel()
		s.Shutdown(expired)
	})
	defer stop()
	s.log.Info("git ssh server listening", "addr", ln.Addr().String(), "hook_socket", s.cfg.SocketPath)
	err = s.ssh.Serve(ln)
	if s.isClosing() {
		if ctx.Err() != nil {
			<-s.shutdown
		}
		return nil
	}
	s.Shutdown(context.Background())
	return fmt.Errorf("serving ssh: %w", err)
}

func (s *Server) startServing(ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return ssh.ErrServerClosed
	case s.serving:
		return errors.New("gitreceiver: Serve called twice")
	}
	s.serving, s.ln = true, ln
	return nil
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// enter registers a session that runs a command; false once shutting down.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.sessions.Add(1)
	return true
}

// Shutdown stops accepting connections and sessions, then waits for the
// running ones. When ctx ends first, the pushes still in their hook are
// cancelled: their hook fails cleanly and git leaves the refs unchanged.
// It returns ctx's error in that case.
func (s *Server) Shutdown(ctx context.Context) error {
	first := false
	s.once.Do(func() { first = true })
	if !first {
		select {
		case <-s.shutdown:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer close(s.shutdown)
	s.mu.Lock()
	s.closing = true
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	err := s.drain(ctx)
	s.closeConns()
	s.hook.close()
	s.cancelPushes()
	return err
}

// drain waits for the running sessions; when ctx ends first it cancels the
// pushes, gives their hooks a moment to report, then cuts the connections.
func (s *Server) drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.sessions.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.cancelPushes()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.ssh.Close()
		<-done
	}
	return ctx.Err()
}

// closeConns lets clients hang up after their exit status, briefly, then
// closes whatever is left.
func (s *Server) closeConns() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.ssh.Shutdown(ctx)
	s.ssh.Close()
}
