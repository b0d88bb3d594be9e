package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// RoutesChannel is notified, with the app's name as payload, whenever an
// app or one of its processes changes.
const RoutesChannel = "wharf_routes"

// Listen backoff bounds.
const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 5 * time.Second
)

// Listen holds a dedicated connection that LISTENs on channel and calls
// fn(payload) for each notification. Each time the LISTEN is established
// (first connect and every reconnect after the connection was lost) it
// calls fn("") so the caller resyncs what it may have missed. Lost
// connections are retried with capped exponential backoff. Listen returns
// ctx.Err() when ctx ends. fn runs on Listen's goroutine.
func (db *DB) Listen(ctx context.Context, channel string, fn func(payload string)) error {
	backoff := listenMinBackoff
	for {
		established := db.listenOnce(ctx, channel, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if established {
			backoff = listenMinBackoff
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listenOnce connects, LISTENs, and relays notifications until the
// connection fails or ctx ends, and reports whether LISTEN was established.
func (db *DB) listenOnce(ctx context.Context, channel string, fn func(string)) bool {
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return false
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return false
	}
	fn("")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true
		}
		fn(n.Payload)
	}
}
