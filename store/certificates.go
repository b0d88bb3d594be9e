package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wharfhq/wharf"
)

// Certificate is a TLS certificate chain of an app with its key (PEM).
type Certificate struct {
	App       string    `json:"app"`
	Names     []string  `json:"names"`
	NotAfter  time.Time `json:"not_after"`
	CreatedAt time.Time `json:"created_at"`
	CertPEM   string    `json:"-"`
	KeyPEM    string    `json:"-"`
}

// AddCertificate stores c for c.App, replacing the app's certificates
// that share a name with it; ENOTFOUND when the app does not exist. The
// caller checks that the pair is valid and that its names are the app's.
func (db *DB) AddCertificate(ctx context.Context, c Certificate) (Certificate, error) {
	err := db.inTx(ctx, "adding certificate", func(tx pgx.Tx) error {
		id, err := appID(ctx, tx, c.App, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM certificates WHERE app_id = $1 AND names && $2`, id, c.Names); err != nil {
			return translate(err, "replacing certificates")
		}
		err = tx.QueryRow(ctx, `INSERT INTO certificates (app_id, names, cert_pem, key_pem, not_after)
			VALUES ($1, $2, $3, $4, $5) RETURNING created_at`, id, c.Names, c.CertPEM, c.KeyPEM, c.NotAfter).Scan(&c.CreatedAt)
		return translate(err, "adding certificate")
	})
	return c, err
}

// ListCertificates returns app's certificates without their keys, by first
// name; ENOTFOUND when app does not exist.
func (db *DB) ListCertificates(ctx context.Context, app string) ([]Certificate, error) {
	id, err := appID(ctx, db.pool, app, false)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT a.name, c.names, c.not_after, c.created_at, c.cert_pem, ''
		FROM certificates c JOIN apps a ON a.id = c.app_id WHERE c.app_id = $1 ORDER BY c.names[1]`, id)
	return collectCertificates(rows, err)
}

// AllCertificates returns every app's certificates with their keys, for the routers.
func (db *DB) AllCertificates(ctx context.Context) ([]Certificate, error) {
	rows, err := db.pool.Query(ctx, `SELECT a.name, c.names, c.not_after, c.created_at, c.cert_pem, c.key_pem
		FROM certificates c JOIN apps a ON a.id = c.app_id ORDER BY a.name, c.id`)
	return collectCertificates(rows, err)
}

func collectCertificates(rows pgx.Rows, err error) ([]Certificate, error) {
	if err != nil {
		return nil, translate(err, "listing certificates")
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Certificate, error) {
		var c Certificate
		err := r.Scan(&c.App, &c.Names, &c.NotAfter, &c.CreatedAt, &c.CertPEM, &c.KeyPEM)
		return c, err
	})
	return cs, translate(err, "listing certificates")
}

// SetRedirectHTTPS turns app's HTTP → HTTPS redirect on or off; ENOTFOUND
// when app does not exist.
func (db *DB) SetRedirectHTTPS(ctx context.Context, app string, on bool) error {
	tag, err := db.pool.Exec(ctx, `UPDATE apps SET redirect_https = $2 WHERE name = $1`, app, on)
	if err != nil {
		return translate(err, "setting the HTTPS redirect")
	}
	if tag.RowsAffected() == 0 {
		return wharf.Errorf(wharf.ENOTFOUND, "%s", appNotFound(app))
	}
	return nil
}

// RedirectHTTPS returns the names of the apps whose HTTP requests are
// redirected to HTTPS.
func (db *DB) RedirectHTTPS(ctx context.Context) (map[string]bool, error) {
	rows, err := db.pool.Query(ctx, `SELECT name FROM apps WHERE redirect_https`)
	if err != nil {
		return nil, translate(err, "listing HTTPS redirects")
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, translate(err, "listing HTTPS redirects")
	}
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m, nil
}
