package store_test

import (
	"testing"
	"time"

	"github.com/wharfhq/wharf"
)

func TestProcesses(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	mustApp(t, db, "web")
	mustApp(t, db, "api")
	started := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ps := []wharf.Process{
		{ContainerID: "c2", Release: 3, Type: "web", Instance: 2, ContainerName: "web-web-2", Addr: "127.0.0.1:40002", State: "running", StartedAt: started},
		{ContainerID: "c1", Release: 3, Type: "web", Instance: 1, ContainerName: "web-web-1", Addr: "127.0.0.1:40001", State: "running"},
	}
	if err := db.SetProcesses(ctx, "web", ps); err != nil {
		t.Fatal(err)
	}
	if err := db.SetProcesses(ctx, "api", []wharf.Process{{ContainerID: "a1", Release: 1, Type: "web", Instance: 1}}); err != nil {
		t.Fatal(err)
	}
	got, err := db.ListProcesses(ctx, "web")
	if err != nil || len(got) != 2 {
		t.Fatalf("ListProcesses = %+v, %v", got, err)
	}
	if got[0].ContainerID != "c1" || got[1].ContainerID != "c2" || got[0].App != "web" || got[1].Addr != "127.0.0.1:40002" ||
		!got[1].StartedAt.Equal(started) || got[0].StartedAt.IsZero() || got[0].Release != 3 || got[0].State != "running" {
		t.Fatalf("ListProcesses = %+v", got)
	}

	// Replacing drops what is not listed.
	if err := db.SetProcesses(ctx, "web", ps[:1]); err != nil {
		t.Fatal(err)
	}
	all, err := db.AllProcesses(ctx)
	if err != nil || len(all) != 2 || all[0].App != "api" || all[1].ContainerID != "c2" {
		t.Fatalf("AllProcesses = %+v, %v; want a1 (api), c2 (web)", all, err)
	}

	// A container already owned by another app is refused and nothing changes.
	err = db.SetProcesses(ctx, "web", []wharf.Process{{ContainerID: "a1", Type: "web", Instance: 1}})
	wantCode(t, err, wharf.ECONFLICT)
	if got, _ := db.ListProcesses(ctx, "web"); len(got) != 1 || got[0].ContainerID != "c2" {
		t.Fatalf("failed SetProcesses changed rows: %+v", got)
	}

	if err := db.SetProcesses(ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := db.ListProcesses(ctx, "web"); err != nil || len(got) != 0 {
		t.Fatalf("after clearing: %+v, %v", got, err)
	}
	wantErr(t, db.SetProcesses(ctx, "nope", nil), wharf.ENOTFOUND, `app "nope" not found`)
	_, err = db.ListProcesses(ctx, "nope")
	wantErr(t, err, wharf.ENOTFOUND, `app "nope" not found`)
}
