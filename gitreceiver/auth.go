package gitreceiver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/wharfhq/wharf"
)

// newSSHServer builds the SSH server: public-key auth only, no pty, no
// forwarding of ports or agents, no subsystems; sessions go to handleSession.
func (s *Server) newSSHServer(signer gossh.Signer) *ssh.Server {
	return &ssh.Server{
		Version:          "wharf",
		HostSigners:      []ssh.Signer{signer},
		Handler:          s.handleSession,
		PublicKeyHandler: s.authorize,
		PtyCallback:      func(ssh.Context, ssh.Pty) bool { return false },
		// nil port-forwarding callbacks and empty request and subsystem
		// handler maps deny those; only session channels are served.
		RequestHandlers:   map[string]ssh.RequestHandler{},
		SubsystemHandlers: map[string]ssh.SubsystemHandler{},
		ChannelHandlers:   map[string]ssh.ChannelHandler{"session": sessionWithoutAgent},
	}
}

// authorize accepts a public key the KeyLookup knows.
func (s *Server) authorize(ctx ssh.Context, key ssh.PublicKey) bool {
	fp := gossh.FingerprintSHA256(key)
	if _, err := s.lookupKey(ctx, fp); err != nil {
		if wharf.ErrorCode(err) != wharf.ENOTFOUND {
			s.log.Error("ssh key lookup failed", "fingerprint", fp, "remote", ctx.RemoteAddr().String(), "err", err)
		}
		return false
	}
	return true
}

func (s *Server) lookupKey(ctx context.Context, fingerprint string) (wharf.Key, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	k, err := s.cfg.Keys.KeyByFingerprint(ctx, fingerprint)
	if err != nil {
		return wharf.Key{}, fmt.Errorf("looking up key %s: %w", fingerprint, err)
	}
	return k, nil
}

// sessionWithoutAgent is gliderlabs' session channel handler with agent
// forwarding refused (gliderlabs accepts the request by default).
func sessionWithoutAgent(srv *ssh.Server, conn *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	ssh.DefaultSessionHandler(srv, conn, noAgentChannel{nc}, ctx)
}

type noAgentChannel struct{ gossh.NewChannel }

func (c noAgentChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := c.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	out := make(chan *gossh.Request)
	go func() { // ends when the channel's requests end, i.e. when it closes
		defer close(out)
		for r := range reqs {
			if r.Type == "auth-agent-req@openssh.com" {
				r.Reply(false, nil)
				continue
			}
			out <- r
		}
	}()
	return ch, out, nil
}

// loadHostKey reads the host key at path, generating an ed25519 key there
// (OpenSSH PEM, 0600) when the file does not exist.
func loadHostKey(path string) (gossh.Signer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = generateHostKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", path, err)
	}
	signer, err := gossh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("parsing host key %s: %w", path, err)
	}
	return signer, nil
}

func generateHostKey(path string) ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "wharf host key")
	if err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	b := pem.EncodeToMemory(block)
	if err := ensureDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, b, 0o600); err != nil {
		return nil, err
	}
	return b, nil
}

// writeFileAtomic writes data to a temporary file next to path and renames
// it into place.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	return nil
}
