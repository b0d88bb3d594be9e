package store_test

import (
	"testing"

	"github.com/wharfhq/wharf"
)

func TestApps(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)

	a, err := db.CreateApp(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || a.Name != "web" || a.CreatedAt.IsZero() {
		t.Fatalf("CreateApp = %+v", a)
	}
	_, err = db.CreateApp(ctx, "web")
	wantErr(t, err, wharf.ECONFLICT, `app "web" already exists`)
	_, err = db.CreateApp(ctx, "Bad_Name")
	wantCode(t, err, wharf.EINVALID)

	got, err := db.GetApp(ctx, "web")
	if err != nil || got != a {
		t.Fatalf("GetApp = %+v, %v; want %+v", got, err, a)
	}
	_, err = db.GetApp(ctx, "nope")
	wantErr(t, err, wharf.ENOTFOUND, `app "nope" not found`)

	e, created, err := db.EnsureApp(ctx, "api")
	if err != nil || !created || e.Name != "api" {
		t.Fatalf("EnsureApp new = %+v, %v, %v", e, created, err)
	}
	e2, created, err := db.EnsureApp(ctx, "api")
	if err != nil || created || e2 != e {
		t.Fatalf("EnsureApp existing = %+v, %v, %v; want %+v, false", e2, created, err, e)
	}
	_, _, err = db.EnsureApp(ctx, "-x")
	wantCode(t, err, wharf.EINVALID)

	apps, err := db.ListApps(ctx)
	if err != nil || len(apps) != 2 || apps[0].Name != "api" || apps[1].Name != "web" {
		t.Fatalf("ListApps = %+v, %v; want api, web", apps, err)
	}

	if err := db.DeleteApp(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, db.DeleteApp(ctx, "web"), wharf.ENOTFOUND, `app "web" not found`)
	_, err = db.GetApp(ctx, "web")
	wantCode(t, err, wharf.ENOTFOUND)
}

func TestDeleteAppCascades(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	mustApp(t, db, "web")
	if _, err := db.CreateBuild(ctx, "web", "abc"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateRelease(ctx, wharf.Release{App: "web", Image: "img:1"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetProcesses(ctx, "web", []wharf.Process{{ContainerID: "c1", Type: "web", Instance: 1, Release: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := db.AddEvent(ctx, "web", "alice", "create", "created web"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteApp(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	all, err := db.AllProcesses(ctx)
	if err != nil || len(all) != 0 {
		t.Fatalf("processes after delete = %+v, %v", all, err)
	}
	// Recreating the app must not resurrect its builds or releases.
	mustApp(t, db, "web")
	builds, err := db.ListBuilds(ctx, "web")
	if err != nil || len(builds) != 0 {
		t.Fatalf("builds after delete = %+v, %v", builds, err)
	}
	rels, err := db.ListReleases(ctx, "web")
	if err != nil || len(rels) != 0 {
		t.Fatalf("releases after delete = %+v, %v", rels, err)
	}
	events, err := db.ListEvents(ctx, "web", 0)
	if err != nil || len(events) != 1 {
		t.Fatalf("events after delete = %+v, %v; want the history kept", events, err)
	}
}
