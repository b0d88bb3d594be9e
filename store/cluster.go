package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// Cluster settings.
const (
	clusterDatabase  = "wharf"
	clusterSuperuser = "postgres"
	clusterPort      = 5432
	clusterLogFile   = "postgres.log"
	clusterConfFile  = "wharf.conf"
	maxSocketPath    = 100 // sun_path is 108 bytes with its NUL; keep a margin
)

// Cluster is a private Postgres cluster: a data directory of its own and a
// server that listens only on a unix socket in a directory only the cluster
// user can reach.
type Cluster struct {
	dir         string // data directory
	sockDir     string
	port        int
	privateSock bool // sockDir is ours under os.TempDir(), removed on Stop
	owner       clusterUser
	log         *slog.Logger
}

// clusterUser is who runs initdb and postgres: the current user, or the
// "postgres" user when running as root (postgres refuses to run as root).
type clusterUser struct {
	uid, gid int
	cred     *syscall.Credential // nil when running as the current user
}

// StartCluster makes sure a Postgres server runs on the data directory dir:
// it initialises the cluster when dir has none, reuses a postmaster still
// running on it (from a daemon that crashed), and otherwise starts one. The
// database "wharf" is created when missing.
func StartCluster(ctx context.Context, dir string, log *slog.Logger) (*Cluster, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("postgres cluster directory: %w", err)
	}
	owner, err := lookupClusterUser()
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, port: clusterPort, owner: owner, log: log}
	if err := c.prepareDir(); err != nil {
		return nil, err
	}
	if err := c.initIfNeeded(ctx); err != nil {
		return nil, err
	}
	if err := c.startOrReuse(ctx); err != nil {
		return nil, err
	}
	if err := c.createDatabase(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// URL returns the connection URL of the "wharf" database.
func (c *Cluster) URL() string { return c.urlFor(clusterDatabase) }

func (c *Cluster) urlFor(database string) string {
	q := url.Values{
		"host":    {c.sockDir},
		"port":    {strconv.Itoa(c.port)},
		"user":    {clusterSuperuser},
		"sslmode": {"disable"},
	}
	return (&url.URL{Scheme: "postgres", Path: "/" + database, RawQuery: q.Encode()}).String()
}

// Stop stops the server (fast shutdown: sessions are disconnected,
// transactions rolled back). Stopping a stopped cluster does nothing.
func (c *Cluster) Stop(ctx context.Context) error {
	if !c.running(ctx) {
		return nil
	}
	out, err := c.run(ctx, "pg_ctl", "stop", "-D", c.dir, "-m", "fast", "-w", "-t", "60", "-s")
	if err != nil {
		return fmt.Errorf("stopping postgres in %s: %w\n%s", c.dir, err, tail(out, 20))
	}
	c.log.Info("postgres stopped", "dir", c.dir)
	if c.privateSock {
		os.Remove(c.sockDir) // empty once the server is down; a leftover is harmless
	}
	return nil
}

func lookupClusterUser() (clusterUser, error) {
	if os.Geteuid() != 0 {
		return clusterUser{uid: os.Getuid(), gid: os.Getgid()}, nil
	}
	u, err := user.Lookup(clusterSuperuser)
	if err != nil {
		return clusterUser{}, fmt.Errorf("running as root, the postgres cluster must run as user %q, which is missing: %w", clusterSuperuser, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return clusterUser{}, fmt.Errorf("user %q: %w", clusterSuperuser, err)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	return clusterUser{uid: uid, gid: gid, cred: cred}, nil
}

// prepareDir creates dir for the cluster user and makes sure that user can
// reach it.
func (c *Cluster) prepareDir() error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("creating postgres directory: %w", err)
	}
	if c.owner.cred == nil {
		return nil
	}
	if err := os.Chown(c.dir, c.owner.uid, c.owner.gid); err != nil {
		return fmt.Errorf("giving %s to user %s: %w", c.dir, clusterSuperuser, err)
	}
	return c.makeParentsTraversable()
}

// makeParentsTraversable adds o+x to each parent of dir the cluster user
// could not otherwise pass through.
func (c *Cluster) makeParentsTraversable() error {
	for p := filepath.Dir(c.dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("checking %s: %w", p, err)
		}
		st, _ := fi.Sys().(*syscall.Stat_t)
		ownedByUser := st != nil && int(st.Uid) == c.owner.uid
		if fi.Mode().Perm()&0o001 == 0 && !ownedByUser {
			if err := os.Chmod(p, fi.Mode()|0o001); err != nil {
				return fmt.Errorf("making %s traversable for user %s: %w", p, clusterSuperuser, err)
			}
			c.log.Info("made directory traversable (o+x) for the postgres user", "dir", p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// initIfNeeded runs initdb when dir holds no cluster yet.
func (c *Cluster) initIfNeeded(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.dir, "PG_VERSION")); err == nil {
		return nil
	}
	out, err := c.run(ctx, "initdb", "-D", c.dir, "-U", clusterSuperuser, "-A", "trust", "-E", "UTF8", "--locale=C")
	if err != nil {
		return fmt.Errorf("initdb in %s failed: %w\n%s", c.dir, err, tail(out, 20))
	}
	conf := filepath.Join(c.dir, "postgresql.conf")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("configuring postgres: %w", err)
	}
	_, err = fmt.Fprintf(f, "\n# Wharf: socket-only settings, rewritten at each start.\ninclude_if_exists = '%s'\n", clusterConfFile)
	if err := errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("configuring postgres: %w", err)
	}
	c.log.Info("postgres cluster initialised", "dir", c.dir)
	return nil
}
