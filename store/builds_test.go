package store_test

import (
	"strconv"
	"testing"

	"github.com/wharfhq/wharf"
)

func TestBuilds(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	mustApp(t, db, "web")
	b1, err := db.CreateBuild(ctx, "web", "c0ffee")
	if err != nil {
		t.Fatal(err)
	}
	if b1.ID == 0 || b1.App != "web" || b1.Commit != "c0ffee" || b1.Status != wharf.BuildRunning || b1.StartedAt.IsZero() || !b1.FinishedAt.IsZero() {
		t.Fatalf("CreateBuild = %+v", b1)
	}
	b2, err := db.CreateBuild(ctx, "web", "beef")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.FinishBuild(ctx, b1.ID, wharf.BuildSucceeded, "wharf/web:1", "step 1\nstep 2\n"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, db.FinishBuild(ctx, 999999, wharf.BuildFailed, "", ""), wharf.ENOTFOUND, "build 999999 not found")
	wantCode(t, db.FinishBuild(ctx, b2.ID, "bogus", "", ""), wharf.EINVALID)

	builds, err := db.ListBuilds(ctx, "web")
	if err != nil || len(builds) != 2 {
		t.Fatalf("ListBuilds = %+v, %v", builds, err)
	}
	if builds[0].ID != b2.ID || builds[1].ID != b1.ID {
		t.Fatalf("ListBuilds not newest first: %d, %d", builds[0].ID, builds[1].ID)
	}
	done := builds[1]
	if done.Status != wharf.BuildSucceeded || done.Image != "wharf/web:1" || done.Output != "step 1\nstep 2\n" || done.FinishedAt.IsZero() {
		t.Fatalf("finished build = %+v", done)
	}

	if got, err := db.GetBuild(ctx, "web", b1.ID); err != nil || got.ID != b1.ID || got.Output != "step 1\nstep 2\n" {
		t.Fatalf("GetBuild(b1) = %+v, %v", got, err)
	}
	if got, err := db.GetBuild(ctx, "web", 0); err != nil || got.ID != b2.ID {
		t.Fatalf("GetBuild(newest) = %+v, %v", got, err)
	}
	_, err = db.GetBuild(ctx, "web", 999999)
	wantErr(t, err, wharf.ENOTFOUND, "build 999999 of web not found")
	mustApp(t, db, "other")
	_, err = db.GetBuild(ctx, "other", b1.ID)
	wantErr(t, err, wharf.ENOTFOUND, "build "+strconv.FormatInt(b1.ID, 10)+" of other not found")
	_, err = db.GetBuild(ctx, "other", 0)
	wantErr(t, err, wharf.ENOTFOUND, "other has no builds yet")

	_, err = db.CreateBuild(ctx, "nope", "abc")
	wantErr(t, err, wharf.ENOTFOUND, `app "nope" not found`)
	_, err = db.ListBuilds(ctx, "nope")
	wantErr(t, err, wharf.ENOTFOUND, `app "nope" not found`)
}
