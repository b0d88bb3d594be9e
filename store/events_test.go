package store_test

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEvents(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	add := func(app, kind, msg string) {
		t.Helper()
		if err := db.AddEvent(ctx, app, "alice", kind, msg); err != nil {
			t.Fatal(err)
		}
	}
	add("web", "create", "created web")
	add("", "key-add", "added key bob")
	add("web", "deploy", "deployed v1")
	add("api", "create", "created api")

	all, err := db.ListEvents(ctx, "", 0)
	if err != nil || len(all) != 4 {
		t.Fatalf("ListEvents all = %+v, %v", all, err)
	}
	if all[0].App != "api" || all[3].Message != "created web" || all[2].App != "" || all[0].CreatedAt.IsZero() || all[0].Actor != "alice" {
		t.Fatalf("ListEvents not newest first or fields wrong: %+v", all)
	}
	web, err := db.ListEvents(ctx, "web", 0)
	if err != nil || len(web) != 2 || web[0].Kind != "deploy" || web[1].Kind != "create" {
		t.Fatalf("ListEvents web = %+v, %v", web, err)
	}
	limited, err := db.ListEvents(ctx, "", 2)
	if err != nil || len(limited) != 2 || limited[0].App != "api" {
		t.Fatalf("ListEvents limit 2 = %+v, %v", limited, err)
	}
	none, err := db.ListEvents(ctx, "gone", 10)
	if err != nil || len(none) != 0 {
		t.Fatalf("ListEvents of unknown app = %+v, %v; want empty", none, err)
	}
	b, _ := json.Marshal(all[0])
	for _, field := range []string{`"id":`, `"app":"api"`, `"actor":"alice"`, `"kind":"create"`, `"message":`, `"created_at":`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("event JSON %s lacks %s", b, field)
		}
	}
}
