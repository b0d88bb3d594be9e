package gitreceiver

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// The hook ↔ daemon protocol over the Unix socket: the hook sends one JSON
// hookRequest line; the daemon answers with frames of one kind byte, a
// big-endian uint32 length and the payload: any number of output frames,
// then one status frame (ok, or error with the message).
const (
	frameOutput byte = 'o'
	frameOK     byte = 'k'
	frameError  byte = 'e'

	maxFrame   = 1 << 20
	maxRequest = 1 << 20
)

// Environment of the pre-receive hook, set for git receive-pack.
const (
	envHookSocket = "WHARF_HOOK_SOCKET"
	envHookToken  = "WHARF_HOOK_TOKEN" // names the SSH session the push belongs to
	envApp        = "WHARF_APP"
	envUser       = "WHARF_USER"
	envQuarantine = "GIT_QUARANTINE_PATH"
)

type hookRequest struct {
	Token         string      `json:"token"`
	App           string      `json:"app"`
	User          string      `json:"user"`
	QuarantineDir string      `json:"quarantine_dir,omitempty"`
	Refs          []RefUpdate `json:"refs"`
}

func writeRequest(w io.Writer, req hookRequest) error {
	b, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encoding hook request: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("sending hook request: %w", err)
	}
	return nil
}

func readRequest(r io.Reader) (hookRequest, error) {
	line, err := bufio.NewReader(io.LimitReader(r, maxRequest)).ReadBytes('\n')
	if err != nil {
		return hookRequest{}, fmt.Errorf("reading hook request: %w", err)
	}
	var req hookRequest
	if err := json.Unmarshal(line, &req); err != nil {
		return hookRequest{}, fmt.Errorf("decoding hook request: %w", err)
	}
	return req, nil
}

// frameWriter writes frames to the hook; safe for concurrent use. After the
// status frame every write fails.
type frameWriter struct {
	mu     sync.Mutex
	conn   net.Conn
	closed bool
}

var errPushFinished = errors.New("the push is finished: output is closed")

func (w *frameWriter) frame(kind byte, p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errPushFinished
	}
	if kind != frameOutput {
		w.closed = true
	}
	var hdr [5]byte
	hdr[0] = kind
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(p)))
	w.conn.SetWriteDeadline(time.Now().Add(time.Minute))
	bufs := net.Buffers{hdr[:], p}
	if _, err := bufs.WriteTo(w.conn); err != nil {
		return fmt.Errorf("writing to the hook: %w", err)
	}
	return nil
}

// Write sends p as output frames, at once: nothing is held back.
func (w *frameWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), maxFrame)]
		if err := w.frame(frameOutput, chunk); err != nil {
			return n, err
		}
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}

// finish sends the status frame: ok for a nil error, else its message.
func (w *frameWriter) finish(msg string, ok bool) error {
	if ok {
		return w.frame(frameOK, nil)
	}
	return w.frame(frameError, []byte(msg))
}

func readFrame(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("frame of %d bytes is too large", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, err
	}
	return hdr[0], p, nil
}
