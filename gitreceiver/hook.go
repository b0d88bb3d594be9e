package gitreceiver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"
)

// RunHook is the pre-receive hook: it reads git's "old new ref" lines from
// stdin and WHARF_HOOK_SOCKET, WHARF_APP, WHARF_USER and GIT_QUARANTINE_PATH
// from env, hands the push to the daemon, copies the daemon's output to
// stdout as it arrives, and returns the exit code: 0 accepts the push, 1
// rejects it (also when the daemon cannot be reached).
func RunHook(ctx context.Context, stdin io.Reader, stdout io.Writer, env []string) int {
	vars := envMap(env)
	req, err := hookRequestFrom(stdin, vars)
	if err != nil {
		fmt.Fprintf(stdout, "error: %v\n", err)
		return 1
	}
	socket := vars[envHookSocket]
	if socket == "" {
		fmt.Fprintln(stdout, "error: this repository only takes pushes through wharf's SSH server")
		return 1
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "unix", socket)
	if err != nil {
		fmt.Fprintf(stdout, "error: cannot reach the wharf daemon (%v): the push was not applied\n", err)
		return 1
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := writeRequest(conn, req); err != nil {
		fmt.Fprintf(stdout, "error: %v: the push was not applied\n", err)
		return 1
	}
	return relay(conn, stdout)
}

// relay copies output frames to stdout until the status frame.
func relay(conn net.Conn, stdout io.Writer) int {
	for {
		kind, p, err := readFrame(conn)
		if err != nil {
			fmt.Fprintln(stdout, "error: lost the connection to the wharf daemon: the push was not applied")
			return 1
		}
		switch kind {
		case frameOutput:
			stdout.Write(p)
		case frameOK:
			return 0
		default:
			fmt.Fprintf(stdout, "error: %s\n", p)
			return 1
		}
	}
}

func hookRequestFrom(stdin io.Reader, vars map[string]string) (hookRequest, error) {
	refs, err := readRefUpdates(stdin)
	if err != nil {
		return hookRequest{}, err
	}
	q := vars[envQuarantine]
	if q != "" && !filepath.IsAbs(q) {
		// git runs the hook in the repository, which q is relative to.
		if q, err = filepath.Abs(q); err != nil {
			return hookRequest{}, fmt.Errorf("quarantine path: %w", err)
		}
	}
	return hookRequest{
		Token:         vars[envHookToken],
		App:           vars[envApp],
		User:          vars[envUser],
		QuarantineDir: q,
		Refs:          refs,
	}, nil
}

// readRefUpdates reads pre-receive's stdin: one "old new ref" per line.
func readRefUpdates(r io.Reader) ([]RefUpdate, error) {
	var refs []RefUpdate
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("unexpected line from git: %q", sc.Text())
		}
		refs = append(refs, RefUpdate{Old: f[0], New: f[1], Name: f[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading ref updates from git: %w", err)
	}
	return refs, nil
}

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
