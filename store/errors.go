package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wharfhq/wharf"
)

// rule says what to tell the user for one expected database outcome.
type rule struct {
	constraint string // unique constraint name; "" for "no rows"
	code       string
	msg        string
}

// missing maps "no rows" to ENOTFOUND with msg.
func missing(msg string) rule { return rule{code: wharf.ENOTFOUND, msg: msg} }

// unauthorized maps "no rows" to EUNAUTHORIZED with msg.
func unauthorized(msg string) rule { return rule{code: wharf.EUNAUTHORIZED, msg: msg} }

// conflict maps a violation of the unique constraint named constraint to
// ECONFLICT with msg.
func conflict(constraint, msg string) rule {
	return rule{constraint: constraint, code: wharf.ECONFLICT, msg: msg}
}

// translate is the one place database errors become wharf errors: the rules
// given for expected outcomes, EUNAVAILABLE when the database cannot be
// reached, and otherwise err wrapped with op. nil stays nil.
func translate(err error, op string, rules ...rule) error {
	if err == nil {
		return nil
	}
	var we *wharf.Error
	if errors.As(err, &we) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		for _, r := range rules {
			if r.constraint == "" {
				return wharf.Errorf(r.code, "%s", r.msg)
			}
		}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		for _, r := range rules {
			if r.constraint != "" && r.constraint == pgErr.ConstraintName {
				return wharf.Errorf(r.code, "%s", r.msg)
			}
		}
		return wharf.Errorf(wharf.ECONFLICT, "%s: %s", op, pgErr.Detail)
	}
	if unavailable(err) {
		return &unavailableError{op: op, err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// unavailableError is EUNAVAILABLE for the user while keeping the cause in
// the chain for logs and errors.Is.
type unavailableError struct {
	op  string
	err error
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("database unavailable: %s: %v", e.op, e.err)
}

func (e *unavailableError) Unwrap() []error {
	return []error{wharf.Errorf(wharf.EUNAVAILABLE, "%s", e.Error()), e.err}
}

// unavailable reports whether err means the database cannot be reached or
// went away, as opposed to rejecting a statement.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &connErr), errors.As(err, &netErr):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ENOENT):
		return true
	case errors.As(err, &pgErr):
		// Class 08: connection exception; 57P0x: shutdown, cannot connect now.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P0")
	}
	return pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed")
}
