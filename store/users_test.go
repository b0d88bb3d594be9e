package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/store"
)

func TestUsersGrantsSessions(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	if _, err := db.CreateApp(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if created, err := db.CreateUser(ctx, "bob", store.RoleMember, "hash", false); err != nil || !created {
		t.Fatalf("CreateUser = %v, %v", created, err)
	}
	if _, err := db.CreateUser(ctx, "bob", store.RoleMember, "hash", false); wharf.ErrorCode(err) != wharf.ECONFLICT {
		t.Errorf("second CreateUser: %v, want conflict", err)
	}
	if created, err := db.CreateUser(ctx, "bob", store.RoleAdmin, "other", true); err != nil || created {
		t.Errorf("CreateUser if missing of an existing user = %v, %v; want false, nil", created, err)
	}
	if _, err := db.CreateUser(ctx, "x", "root", "h", false); wharf.ErrorCode(err) != wharf.EINVALID {
		t.Errorf("role root: %v, want invalid", err)
	}
	if err := db.Grant(ctx, "bob", "web"); err != nil {
		t.Fatal(err)
	}
	if err := db.Grant(ctx, "bob", "web"); err != nil {
		t.Errorf("granting twice: %v", err)
	}
	if err := db.Grant(ctx, "bob", "nope"); wharf.ErrorCode(err) != wharf.ENOTFOUND {
		t.Errorf("grant of a missing app: %v", err)
	}
	u, err := db.GetUser(ctx, "bob")
	if err != nil || u.Role != store.RoleMember || !slices.Equal(u.Apps, []string{"web"}) || u.PasswordHash != "hash" {
		t.Fatalf("GetUser = %+v, %v", u, err)
	}

	hash := []byte("session-hash")
	if err := db.CreateSession(ctx, hash, "bob", "csrf", time.Hour); err != nil {
		t.Fatal(err)
	}
	if s, err := db.SessionByHash(ctx, hash); err != nil || s.User != "bob" || s.CSRF != "csrf" {
		t.Fatalf("SessionByHash = %+v, %v", s, err)
	}
	if err := db.SetPassword(ctx, "bob", "new-hash"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SessionByHash(ctx, hash); wharf.ErrorCode(err) != wharf.EUNAUTHORIZED {
		t.Errorf("session after a password change: %v, want unauthorized", err)
	}
	if err := db.CreateSession(ctx, []byte("expired"), "bob", "c", -time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SessionByHash(ctx, []byte("expired")); wharf.ErrorCode(err) != wharf.EUNAUTHORIZED {
		t.Errorf("expired session: %v, want unauthorized", err)
	}

	if err := db.Revoke(ctx, "bob", "web"); err != nil {
		t.Fatal(err)
	}
	if err := db.Revoke(ctx, "bob", "web"); wharf.ErrorCode(err) != wharf.ENOTFOUND {
		t.Errorf("revoking twice: %v, want not found", err)
	}
	if err := db.Grant(ctx, "bob", "web"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteApp(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if u, _ := db.GetUser(ctx, "bob"); len(u.Apps) != 0 {
		t.Errorf("grants outlived the app: %v", u.Apps)
	}
}

func TestLogsBoundedAndOrdered(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var lines []store.LogLine
	for i := range 10 {
		proc := "web.1"
		if i%2 == 1 {
			proc = "worker.1"
		}
		// Stored out of time order: the query orders by time.
		lines = append(lines, store.LogLine{App: "web", Process: proc, Container: proc, Time: t0.Add(time.Duration(10-i) * time.Second), Line: string(rune('a' + i))})
	}
	if err := db.AppendLogs(ctx, lines); err != nil {
		t.Fatal(err)
	}
	got, err := db.Logs(ctx, store.LogQuery{App: "web", Limit: 3})
	if err != nil || len(got) != 3 || got[0].Line != "j" || got[2].Line != "h" {
		t.Fatalf("newest 3 lines = %+v, %v; want j, i, h in time order", got, err)
	}
	web, _ := db.Logs(ctx, store.LogQuery{App: "web", Process: "web", Limit: 100})
	if len(web) != 5 {
		t.Errorf("process web: %d lines, want 5", len(web))
	}
	after, _ := db.Logs(ctx, store.LogQuery{App: "web", AfterID: got[0].ID, Limit: 100})
	if len(after) != 0 {
		t.Errorf("lines after the newest id: %d", len(after))
	}
	if last, err := db.LastLogTime(ctx, "web.1"); err != nil || !last.Equal(t0.Add(10*time.Second)) {
		t.Errorf("LastLogTime = %v, %v", last, err)
	}
	if err := db.TrimLogs(ctx, "web", 4); err != nil {
		t.Fatal(err)
	}
	all, _ := db.Logs(ctx, store.LogQuery{App: "web", Limit: 100})
	if len(all) != 4 {
		t.Errorf("after trimming to 4: %d lines", len(all))
	}
}
