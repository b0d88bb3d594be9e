package store_test

import (
	"slices"
	"testing"

	"github.com/wharfhq/wharf"
)

func TestPlacement(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	mustApp(t, db, "shop")
	mustApp(t, db, "blog")
	if p, err := db.Placement(ctx, "shop"); err != nil || p == nil || len(p) != 0 {
		t.Fatalf("a new app's placement = %#v, %v; want an empty list", p, err)
	}

	want := []string{"node.labels.tier==web", "node.role!=manager"}
	if err := db.SetPlacement(ctx, "shop", want); err != nil {
		t.Fatal(err)
	}
	if p, err := db.Placement(ctx, "shop"); err != nil || !slices.Equal(p, want) {
		t.Fatalf("Placement = %q, %v; want %q in order", p, err, want)
	}
	if p, err := db.Placement(ctx, "blog"); err != nil || len(p) != 0 {
		t.Errorf("another app's placement = %q, %v; want none", p, err)
	}

	// Setting replaces the whole list.
	if err := db.SetPlacement(ctx, "shop", []string{"node.hostname==web-2"}); err != nil {
		t.Fatal(err)
	}
	if p, _ := db.Placement(ctx, "shop"); !slices.Equal(p, []string{"node.hostname==web-2"}) {
		t.Errorf("after replacing: %q", p)
	}
	// An empty list clears it, twice as well as once.
	for range 2 {
		if err := db.SetPlacement(ctx, "shop", nil); err != nil {
			t.Fatal(err)
		}
	}
	if p, err := db.Placement(ctx, "shop"); err != nil || len(p) != 0 {
		t.Errorf("after clearing: %q, %v", p, err)
	}

	_, err := db.Placement(ctx, "nope")
	wantErr(t, err, wharf.ENOTFOUND, `app "nope" not found`)
	wantErr(t, db.SetPlacement(ctx, "nope", want), wharf.ENOTFOUND, `app "nope" not found`)

	// Destroying the app takes its placement along.
	if err := db.SetPlacement(ctx, "blog", want); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteApp(ctx, "blog"); err != nil {
		t.Fatal(err)
	}
	mustApp(t, db, "blog")
	if p, err := db.Placement(ctx, "blog"); err != nil || len(p) != 0 {
		t.Errorf("a re-created app inherits placement %q, %v", p, err)
	}
}
