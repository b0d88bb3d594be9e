package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// startOrReuse starts the server, or adopts one already running on dir.
func (c *Cluster) startOrReuse(ctx context.Context) error {
	if c.running(ctx) {
		if err := c.readPostmasterPid(); err != nil {
			return err
		}
		c.log.Info("reusing running postgres", "dir", c.dir, "socket_dir", c.sockDir)
		return nil
	}
	if err := c.chooseSocketDir(); err != nil {
		return err
	}
	if err := c.writeConf(); err != nil {
		return err
	}
	logFile := filepath.Join(c.dir, clusterLogFile)
	out, err := c.run(ctx, "pg_ctl", "start", "-D", c.dir, "-l", logFile, "-w", "-t", "120", "-s")
	if err != nil {
		logTail, _ := os.ReadFile(logFile)
		return fmt.Errorf("starting postgres in %s failed: %w\n%s%s", c.dir, err, tail(out, 10), tail(logTail, 20))
	}
	c.log.Info("postgres started", "dir", c.dir, "socket_dir", c.sockDir, "log", logFile)
	return nil
}

// running reports whether a postmaster runs on dir.
func (c *Cluster) running(ctx context.Context) bool {
	_, err := c.run(ctx, "pg_ctl", "status", "-D", c.dir)
	return err == nil
}

// readPostmasterPid takes port and socket directory from a running server.
func (c *Cluster) readPostmasterPid() error {
	b, err := os.ReadFile(filepath.Join(c.dir, "postmaster.pid"))
	if err != nil {
		return fmt.Errorf("reading the running postgres's pid file: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 5 || strings.TrimSpace(lines[4]) == "" {
		return fmt.Errorf("the postgres running on %s listens on no unix socket; stop it (pg_ctl stop -D %s)", c.dir, c.dir)
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return fmt.Errorf("reading port from %s/postmaster.pid: %w", c.dir, err)
	}
	c.port, c.sockDir = port, strings.TrimSpace(lines[4])
	c.privateSock = strings.HasPrefix(c.sockDir, filepath.Join(os.TempDir(), "wharf-pg-"))
	return nil
}

// chooseSocketDir picks dir/run, or a private directory under
// os.TempDir() named after dir when that path is too long for a socket.
func (c *Cluster) chooseSocketDir() error {
	sock := filepath.Join(c.dir, "run")
	if len(sock)+len("/.s.PGSQL.65535.lock") > maxSocketPath {
		sum := sha256.Sum256([]byte(c.dir))
		sock = filepath.Join(os.TempDir(), "wharf-pg-"+hex.EncodeToString(sum[:6]))
		c.privateSock = true
	}
	if err := os.Mkdir(sock, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("creating postgres socket directory: %w", err)
	}
	fi, err := os.Lstat(sock)
	if err != nil {
		return fmt.Errorf("checking postgres socket directory: %w", err)
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || st == nil || (int(st.Uid) != c.owner.uid && int(st.Uid) != os.Geteuid()) {
		return fmt.Errorf("postgres socket directory %s is not a directory of the cluster user; remove it", sock)
	}
	if c.owner.cred != nil {
		if err := os.Chown(sock, c.owner.uid, c.owner.gid); err != nil {
			return fmt.Errorf("giving socket directory to %s: %w", clusterSuperuser, err)
		}
	}
	if err := os.Chmod(sock, 0o700); err != nil {
		return fmt.Errorf("securing postgres socket directory: %w", err)
	}
	c.sockDir = sock
	return nil
}

// writeConf writes the settings included from postgresql.conf.
func (c *Cluster) writeConf() error {
	conf := fmt.Sprintf("listen_addresses = ''\nport = %d\nunix_socket_directories = '%s'\nunix_socket_permissions = 0700\n",
		c.port, strings.ReplaceAll(c.sockDir, "'", "''"))
	path := filepath.Join(c.dir, clusterConfFile)
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if c.owner.cred != nil {
		if err := os.Chown(path, c.owner.uid, c.owner.gid); err != nil {
			return fmt.Errorf("giving %s to %s: %w", path, clusterSuperuser, err)
		}
	}
	return nil
}

// createDatabase creates the wharf database when it is missing.
func (c *Cluster) createDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.urlFor("postgres"))
	if err != nil {
		return translate(err, "connecting to the postgres cluster")
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, clusterDatabase).Scan(&exists)
	if err != nil || exists {
		return translate(err, "looking for the wharf database")
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{clusterDatabase}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // created meanwhile
		return nil
	}
	return translate(err, "creating the wharf database")
}

// run runs a Postgres program as the cluster user, returning its output.
func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	path, err := postgresBinary(name)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	// Own process group: a Ctrl-C meant for the daemon must not reach the
	// postmaster that pg_ctl leaves behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.owner.cred}
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.Bytes(), err
}

// postgresBinary finds a Postgres server program on PATH or, as Debian
// installs them, under /usr/lib/postgresql/<version>/bin (newest first).
func postgresBinary(name string) (string, error) {
	if path, err := exec.LookPath(name); err == nil {
		return path, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, dir := range dirs {
		if path := filepath.Join(dir, name); isExecutable(path) {
			return path, nil
		}
	}
	return "", fmt.Errorf("postgres is not installed: %s not found on PATH or in /usr/lib/postgresql/*/bin (apt-get install postgresql)", name)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	s := strings.Join(lines, "\n")
	if s != "" {
		s += "\n"
	}
	return s
}
