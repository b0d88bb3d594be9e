package store_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/wharfhq/wharf"
)

func TestReleases(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	mustApp(t, db, "web")
	mustApp(t, db, "other")

	_, err := db.CurrentRelease(ctx, "web")
	wantErr(t, err, wharf.ENOTFOUND, `app "web" has no release yet`)

	r1, err := db.CreateRelease(ctx, wharf.Release{App: "web", Image: "img:1", Commit: "abc",
		Config: map[string]string{"PORT": "5000", "QUOTE": `it's "x"`}, CreatedBy: "alice", Description: "deploy abc"})
	if err != nil {
		t.Fatal(err)
	}
	if r1.Version != 1 || r1.Status != wharf.ReleasePending || r1.App != "web" || r1.Config["QUOTE"] != `it's "x"` ||
		r1.CreatedBy != "alice" || r1.Description != "deploy abc" || r1.Commit != "abc" || r1.CreatedAt.IsZero() {
		t.Fatalf("CreateRelease = %+v", r1)
	}
	// Versions are per app.
	o1, err := db.CreateRelease(ctx, wharf.Release{App: "other", Image: "o:1"})
	if err != nil || o1.Version != 1 || o1.Config == nil {
		t.Fatalf("first release of other = %+v, %v", o1, err)
	}

	// Pending releases are not current.
	_, err = db.CurrentRelease(ctx, "web")
	wantCode(t, err, wharf.ENOTFOUND)
	if err := db.SetReleaseStatus(ctx, "web", 1, wharf.ReleaseDeployed); err != nil {
		t.Fatal(err)
	}
	r2, err := db.CreateRelease(ctx, wharf.Release{App: "web", Image: "img:2", Status: wharf.ReleasePending})
	if err != nil || r2.Version != 2 {
		t.Fatalf("second release = %+v, %v", r2, err)
	}
	if err := db.SetReleaseStatus(ctx, "web", 2, wharf.ReleaseFailed); err != nil {
		t.Fatal(err)
	}
	r3, err := db.CreateRelease(ctx, wharf.Release{App: "web", Image: "img:3"})
	if err != nil || r3.Version != 3 {
		t.Fatalf("third release = %+v, %v", r3, err)
	}
	// v2 failed and v3 is pending: v1 is still current.
	cur, err := db.CurrentRelease(ctx, "web")
	if err != nil || cur.Version != 1 || cur.Image != "img:1" || cur.Config["PORT"] != "5000" {
		t.Fatalf("CurrentRelease = %+v, %v; want v1", cur, err)
	}

	got, err := db.GetRelease(ctx, "web", 2)
	if err != nil || got.Image != "img:2" || got.Status != wharf.ReleaseFailed {
		t.Fatalf("GetRelease v2 = %+v, %v", got, err)
	}
	_, err = db.GetRelease(ctx, "web", 9)
	wantErr(t, err, wharf.ENOTFOUND, `release v9 of app "web" not found`)
	wantErr(t, db.SetReleaseStatus(ctx, "web", 9, wharf.ReleaseFailed), wharf.ENOTFOUND, `release v9 of app "web" not found`)
	wantCode(t, db.SetReleaseStatus(ctx, "web", 1, "weird"), wharf.EINVALID)

	rels, err := db.ListReleases(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	var versions []int
	for _, r := range rels {
		versions = append(versions, r.Version)
	}
	if !slices.Equal(versions, []int{3, 2, 1}) {
		t.Fatalf("ListReleases versions = %v, want [3 2 1]", versions)
	}

	for name, err := range map[string]error{
		"CreateRelease":    second(db.CreateRelease(ctx, wharf.Release{App: "nope", Image: "x"})),
		"CurrentRelease":   second(db.CurrentRelease(ctx, "nope")),
		"GetRelease":       second(db.GetRelease(ctx, "nope", 1)),
		"ListReleases":     second(db.ListReleases(ctx, "nope")),
		"SetReleaseStatus": db.SetReleaseStatus(ctx, "nope", 1, wharf.ReleaseDeployed),
	} {
		if wharf.ErrorMessage(err) != `app "nope" not found` {
			t.Errorf("%s on a missing app: %v", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestConcurrentCreateReleaseVersions(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	mustApp(t, db, "web")
	const n = 20
	versions := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := db.CreateRelease(ctx, wharf.Release{App: "web", Image: "img"})
			versions[i], errs[i] = r.Version, err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(versions)
	for i, v := range versions {
		if v != i+1 {
			t.Fatalf("versions = %v, want 1..%d each once", versions, n)
		}
	}
}

func BenchmarkCurrentRelease(b *testing.B) {
	db := openDB(b)
	ctx := ctxT(b)
	mustApp(b, db, "web")
	for range 50 {
		r, err := db.CreateRelease(ctx, wharf.Release{App: "web", Image: "img", Config: map[string]string{"A": "1", "B": "2"}})
		if err != nil {
			b.Fatal(err)
		}
		if err := db.SetReleaseStatus(ctx, "web", r.Version, wharf.ReleaseDeployed); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := db.CurrentRelease(ctx, "web"); err != nil {
			b.Fatal(err)
		}
	}
}
