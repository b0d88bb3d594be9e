package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wharfhq/wharf"
)

// Domain is a custom hostname routed to an app.
type Domain struct {
	App       string    `json:"app"`
	Hostname  string    `json:"hostname"` // lowercase; "*.example.com" for a wildcard
	CreatedAt time.Time `json:"created_at"`
}

// NormalizeHostname lowercases h, drops a trailing dot and checks it is a
// DNS name of at least two labels, optionally starting with "*." (a
// wildcard for one label). EINVALID says what is wrong.
func NormalizeHostname(h string) (string, error) {
	name := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
	rest, _ := strings.CutPrefix(name, "*.")
	if len(name) > 253 {
		return "", wharf.Errorf(wharf.EINVALID, "invalid domain %q: longer than 253 characters", h)
	}
	labels := strings.Split(rest, ".")
	if len(labels) < 2 {
		return "", wharf.Errorf(wharf.EINVALID, "invalid domain %q: expected a name such as www.example.com or *.example.com", h)
	}
	for _, l := range labels {
		if !validLabel(l) {
			return "", wharf.Errorf(wharf.EINVALID, "invalid domain %q: each label must be 1-63 letters, digits or dashes, not starting or ending with a dash (a wildcard only as the whole first label, *.example.com)", h)
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", wharf.Errorf(wharf.EINVALID, "invalid domain %q: IP addresses are not domains", h)
	}
	return name, nil
}

func validLabel(l string) bool {
	if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

const domainColumns = `a.name, d.hostname, d.created_at`

func scanDomain(row pgx.Row) (Domain, error) {
	var d Domain
	err := row.Scan(&d.App, &d.Hostname, &d.CreatedAt)
	return d, err
}

// AddDomain gives hostname (normalized with NormalizeHostname) to app; the
// routes trigger notifies RoutesChannel. ECONFLICT names the app that
// already has it; ENOTFOUND when app does not exist.
func (db *DB) AddDomain(ctx context.Context, app, hostname string) (Domain, error) {
	host, err := NormalizeHostname(hostname)
	if err != nil {
		return Domain{}, err
	}
	var d Domain
	err = db.inTx(ctx, "adding domain", func(tx pgx.Tx) error {
		id, err := appID(ctx, tx, app, false)
		if err != nil {
			return err
		}
		if err := domainOwnerConflict(ctx, tx, app, host); err != nil {
			return err
		}
		d, err = scanDomain(tx.QueryRow(ctx, `WITH d AS (INSERT INTO domains (app_id, hostname) VALUES ($1, $2)
			RETURNING app_id, hostname, created_at) SELECT `+domainColumns+` FROM d JOIN apps a ON a.id = d.app_id`, id, host))
		return translate(err, "adding domain", conflict("domains_hostname_key",
			fmt.Sprintf("domain %s was just added to another app", host)))
	})
	return d, err
}

// domainOwnerConflict returns ECONFLICT naming the app that owns host.
func domainOwnerConflict(ctx context.Context, q querier, app, host string) error {
	var owner string
	err := q.QueryRow(ctx, `SELECT a.name FROM domains d JOIN apps a ON a.id = d.app_id WHERE d.hostname = $1`, host).Scan(&owner)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return translate(err, "looking up domain")
	case owner == app:
		return wharf.Errorf(wharf.ECONFLICT, "domain %s is already added to %s", host, app)
	}
	return wharf.Errorf(wharf.ECONFLICT, "domain %s belongs to app %s; remove it there first (wharf domains:remove -a %s %s)", host, owner, owner, host)
}

// RemoveDomain takes hostname away from app; ENOTFOUND when app does not
// have it.
func (db *DB) RemoveDomain(ctx context.Context, app, hostname string) error {
	host, err := NormalizeHostname(hostname)
	if err != nil {
		return err
	}
	id, err := appID(ctx, db.pool, app, false)
	if err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM domains WHERE app_id = $1 AND hostname = $2`, id, host)
	if err != nil {
		return translate(err, "removing domain")
	}
	if tag.RowsAffected() == 0 {
		return wharf.Errorf(wharf.ENOTFOUND, "app %s has no domain %s (see wharf domains -a %s)", app, host, app)
	}
	return nil
}

// ListDomains returns app's custom domains by hostname; ENOTFOUND when app
// does not exist.
func (db *DB) ListDomains(ctx context.Context, app string) ([]Domain, error) {
	id, err := appID(ctx, db.pool, app, false)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT `+domainColumns+` FROM domains d JOIN apps a ON a.id = d.app_id
		WHERE d.app_id = $1 ORDER BY d.hostname`, id)
	return collectDomains(rows, err)
}

// AllDomains returns every app's custom domains, by app and hostname.
func (db *DB) AllDomains(ctx context.Context) ([]Domain, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+domainColumns+` FROM domains d JOIN apps a ON a.id = d.app_id
		ORDER BY a.name, d.hostname`)
	return collectDomains(rows, err)
}

func collectDomains(rows pgx.Rows, err error) ([]Domain, error) {
	if err != nil {
		return nil, translate(err, "listing domains")
	}
	ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Domain, error) { return scanDomain(r) })
	return ds, translate(err, "listing domains")
}
