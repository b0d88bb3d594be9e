package store_test

import (
	"maps"
	"testing"

	"github.com/wharfhq/wharf"
)

func TestConfigFormationVolumes(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	mustApp(t, db, "web")

	if cfg, err := db.ConfigVars(ctx, "web"); err != nil || len(cfg) != 0 {
		t.Fatalf("ConfigVars of a new app = %v, %v", cfg, err)
	}
	want := map[string]string{"A": "1", "B": `it's "x"`}
	if err := db.SetConfigVars(ctx, "web", want); err != nil {
		t.Fatal(err)
	}
	if err := db.SetConfigVars(ctx, "web", want); err != nil {
		t.Fatal(err)
	}
	if cfg, err := db.ConfigVars(ctx, "web"); err != nil || !maps.Equal(cfg, want) {
		t.Fatalf("ConfigVars = %v, %v; want %v", cfg, err, want)
	}
	_, err := db.ConfigVars(ctx, "nope")
	wantCode(t, err, wharf.ENOTFOUND)

	if err := db.ScaleFormation(ctx, "web", map[string]int{"web": 3, "worker": 1}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetResources(ctx, "web", wharf.Formation{Type: "web", Memory: 256 << 20, CPUs: 0.5}, 1); err != nil {
		t.Fatal(err)
	}
	if err := db.SetResources(ctx, "web", wharf.Formation{Type: "clock", Memory: 64 << 20}, 0); err != nil {
		t.Fatal(err)
	}
	fs, err := db.Formation(ctx, "web")
	if err != nil || len(fs) != 3 || fs[0] != (wharf.Formation{Type: "clock", Memory: 64 << 20}) ||
		fs[1] != (wharf.Formation{Type: "web", Quantity: 3, Memory: 256 << 20, CPUs: 0.5}) || fs[2].Quantity != 1 {
		t.Fatalf("Formation = %+v, %v", fs, err)
	}

	if err := db.AddVolume(ctx, "web", wharf.Volume{Name: "data", Path: "/data"}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, db.AddVolume(ctx, "web", wharf.Volume{Name: "data", Path: "/other"}), wharf.ECONFLICT, `volume "data" is already mounted in web`)
	wantErr(t, db.AddVolume(ctx, "web", wharf.Volume{Name: "more", Path: "/data"}), wharf.ECONFLICT, `web already has a volume mounted at /data`)
	if vs, err := db.Volumes(ctx, "web"); err != nil || len(vs) != 1 || vs[0] != (wharf.Volume{Name: "data", Path: "/data"}) {
		t.Fatalf("Volumes = %v, %v", vs, err)
	}
	wantErr(t, db.RemoveVolume(ctx, "web", "more"), wharf.ENOTFOUND, `web has no volume "more"`)
	if err := db.RemoveVolume(ctx, "web", "data"); err != nil {
		t.Fatal(err)
	}
}

func TestReleaseProcessTypesAndPending(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	mustApp(t, db, "web")
	r, err := db.CreateRelease(ctx, wharf.Release{App: "web", Image: "i:1",
		ProcessTypes: map[string]string{"web": "httpd", "release": "./migrate"}, Health: wharf.HealthCheck{Path: "/h", Timeout: 5, Attempts: 3}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.GetRelease(ctx, "web", r.Version)
	if err != nil || !maps.Equal(got.ProcessTypes, r.ProcessTypes) || got.Health != r.Health || got.Health.Path != "/h" {
		t.Fatalf("GetRelease = %+v, %v", got, err)
	}
	n, err := db.FailPendingReleases(ctx)
	if err != nil || n != 1 {
		t.Fatalf("FailPendingReleases = %d, %v", n, err)
	}
	if got, _ := db.GetRelease(ctx, "web", r.Version); got.Status != wharf.ReleaseFailed {
		t.Errorf("status after FailPendingReleases = %s", got.Status)
	}
}
