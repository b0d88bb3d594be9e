package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wharfhq/wharf"
)

// User is a person who logs in to the dashboard and owns API tokens and SSH
// keys. Role is "admin" (everything) or "member" (granted apps only).
type User struct {
	ID           int64     `json:"-"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	PasswordHash string    `json:"-"`
	Apps         []string  `json:"apps"` // granted apps, by name
	CreatedAt    time.Time `json:"created_at"`
}

// Roles a user can have.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
)

func userNotFound(name string) string { return fmt.Sprintf("user %q not found", name) }

// CreateUser adds a user; ECONFLICT when the name is taken. When ifMissing,
// an existing user is left as it is and created reports false.
func (db *DB) CreateUser(ctx context.Context, name, role, passwordHash string, ifMissing bool) (created bool, err error) {
	if err := wharf.ValidateKeyName(name); err != nil {
		return false, wharf.Errorf(wharf.EINVALID, "invalid user name %q: use letters, digits, '.', '_', '-' and '@'", name)
	}
	if role != RoleAdmin && role != RoleMember {
		return false, wharf.Errorf(wharf.EINVALID, "invalid role %q: want admin or member", role)
	}
	sql := `INSERT INTO users (name, role, password_hash) VALUES ($1, $2, $3)`
	if ifMissing {
		sql += ` ON CONFLICT (name) DO NOTHING`
	}
	tag, err := db.pool.Exec(ctx, sql, name, role, passwordHash)
	if err != nil {
		return false, translate(err, "creating user", conflict("users_name_key", fmt.Sprintf("user %q already exists", name)))
	}
	return tag.RowsAffected() == 1, nil
}

// GetUser returns the user named name with its grants; ENOTFOUND when none.
func (db *DB) GetUser(ctx context.Context, name string) (User, error) {
	users, err := db.listUsers(ctx, name)
	if err != nil {
		return User{}, err
	}
	if len(users) == 0 {
		return User{}, wharf.Errorf(wharf.ENOTFOUND, "%s", userNotFound(name))
	}
	return users[0], nil
}

// ListUsers returns every user with its grants, by name.
func (db *DB) ListUsers(ctx context.Context) ([]User, error) { return db.listUsers(ctx, "") }

func (db *DB) listUsers(ctx context.Context, name string) ([]User, error) {
	rows, err := db.pool.Query(ctx, `SELECT u.id, u.name, u.role, u.password_hash, u.created_at,
			coalesce(array_agg(a.name ORDER BY a.name) FILTER (WHERE a.name IS NOT NULL), '{}')
		FROM users u LEFT JOIN grants g ON g.user_id = u.id LEFT JOIN apps a ON a.id = g.app_id
		WHERE $1 = '' OR u.name = $1 GROUP BY u.id ORDER BY u.name`, name)
	if err != nil {
		return nil, translate(err, "listing users")
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) {
		var u User
		err := r.Scan(&u.ID, &u.Name, &u.Role, &u.PasswordHash, &u.CreatedAt, &u.Apps)
		return u, err
	})
	return users, translate(err, "listing users")
}

// SetPassword replaces a user's password hash; ENOTFOUND when no such user.
func (db *DB) SetPassword(ctx context.Context, name, passwordHash string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE name = $1`, name, passwordHash)
	if err != nil {
		return translate(err, "setting password")
	}
	if tag.RowsAffected() == 0 {
		return wharf.Errorf(wharf.ENOTFOUND, "%s", userNotFound(name))
	}
	// A new password ends every session of the user.
	_, err = db.pool.Exec(ctx, `DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = $1)`, name)
	return translate(err, "ending sessions")
}

// Grant lets user reach app; granting twice changes nothing.
func (db *DB) Grant(ctx context.Context, user, app string) error {
	tag, err := db.pool.Exec(ctx, `INSERT INTO grants (user_id, app_id)
		SELECT u.id, a.id FROM users u, apps a WHERE u.name = $1 AND a.name = $2
		ON CONFLICT DO NOTHING`, user, app)
	if err != nil {
		return translate(err, "granting access")
	}
	if tag.RowsAffected() == 0 {
		return db.grantTargetsExist(ctx, user, app)
	}
	return nil
}

// Revoke takes app away from user; ENOTFOUND when there was no such grant.
func (db *DB) Revoke(ctx context.Context, user, app string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM grants g USING users u, apps a
		WHERE g.user_id = u.id AND g.app_id = a.id AND u.name = $1 AND a.name = $2`, user, app)
	if err != nil {
		return translate(err, "revoking access")
	}
	if tag.RowsAffected() == 0 {
		if err := db.grantTargetsExist(ctx, user, app); err != nil {
			return err
		}
		return wharf.Errorf(wharf.ENOTFOUND, "user %q has no access to app %q", user, app)
	}
	return nil
}

func (db *DB) grantTargetsExist(ctx context.Context, user, app string) error {
	if _, err := db.GetUser(ctx, user); err != nil {
		return err
	}
	_, err := appID(ctx, db.pool, app, false)
	return err
}

// Session is a dashboard login.
type Session struct {
	User string
	CSRF string
}

// CreateSession stores a session under the hash of its cookie value.
func (db *DB) CreateSession(ctx context.Context, hash []byte, user, csrf string, ttl time.Duration) error {
	tag, err := db.pool.Exec(ctx, `INSERT INTO sessions (hash, user_id, csrf, expires_at)
		SELECT $1, id, $3, now() + $4::interval FROM users WHERE name = $2`, hash, user, csrf, ttl.String())
	if err != nil {
		return translate(err, "creating session")
	}
	if tag.RowsAffected() == 0 {
		return wharf.Errorf(wharf.ENOTFOUND, "%s", userNotFound(user))
	}
	return nil
}

// SessionByHash returns the live session with that hash; EUNAUTHORIZED when
// there is none or it expired.
func (db *DB) SessionByHash(ctx context.Context, hash []byte) (Session, error) {
	var s Session
	err := db.pool.QueryRow(ctx, `SELECT u.name, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.hash = $1 AND s.expires_at > now()`, hash).Scan(&s.User, &s.CSRF)
	return s, translate(err, "looking up session", unauthorized("not logged in"))
}

// DeleteSession ends a session (and any expired ones).
func (db *DB) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE hash = $1 OR expires_at < now()`, hash)
	return translate(err, "deleting session")
}
