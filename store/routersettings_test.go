package store_test

import (
	"testing"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/store"
)

func TestRouterSettings(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	mustApp(t, db, "shop")
	mustApp(t, db, "blog")
	if s, err := db.RouterSettings(ctx, "shop"); err != nil || s != (wharf.RouterSettings{}) {
		t.Fatalf("a new app's settings = %+v, %v; want zero (the defaults)", s, err)
	}

	notified := make(chan string, 16)
	go db.Listen(ctx, store.RoutesChannel, func(p string) { notified <- p })
	waitPayload(t, notified, "") // LISTEN established

	limit, timeout := int64(50<<20), 1500*time.Millisecond
	s, err := db.ChangeRouterSettings(ctx, "shop", wharf.RouterChange{BodyLimit: &limit, Timeout: &timeout})
	if want := (wharf.RouterSettings{BodyLimit: 50 << 20, Timeout: 1500 * time.Millisecond}); err != nil || s != want {
		t.Fatalf("ChangeRouterSettings = %+v, %v; want %+v", s, err, want)
	}
	waitPayload(t, notified, "shop") // every router node reloads

	longer := 90 * time.Second
	if s, err = db.ChangeRouterSettings(ctx, "shop", wharf.RouterChange{Timeout: &longer}); err != nil || s.BodyLimit != 50<<20 || s.Timeout != longer {
		t.Fatalf("changing the timeout alone = %+v, %v; want the body limit kept", s, err)
	}
	if got, err := db.RouterSettings(ctx, "shop"); err != nil || got != s {
		t.Fatalf("RouterSettings = %+v, %v; want %+v", got, err, s)
	}
	all, err := db.AllRouterSettings(ctx)
	if err != nil || len(all) != 1 || all["shop"] != s {
		t.Fatalf("AllRouterSettings = %v, %v; want only shop's", all, err)
	}

	zero := int64(0)
	if s, err = db.ChangeRouterSettings(ctx, "shop", wharf.RouterChange{BodyLimit: &zero}); err != nil || s != (wharf.RouterSettings{Timeout: longer}) {
		t.Fatalf("resetting the body limit = %+v, %v", s, err)
	}
	noTimeout := time.Duration(0)
	if _, err = db.ChangeRouterSettings(ctx, "shop", wharf.RouterChange{Timeout: &noTimeout}); err != nil {
		t.Fatal(err)
	}
	if all, err := db.AllRouterSettings(ctx); err != nil || len(all) != 0 {
		t.Fatalf("after both resets: %v, %v; want none", all, err)
	}

	_, err = db.RouterSettings(ctx, "nope")
	wantErr(t, err, wharf.ENOTFOUND, `app "nope" not found`)
	_, err = db.ChangeRouterSettings(ctx, "nope", wharf.RouterChange{BodyLimit: &limit})
	wantCode(t, err, wharf.ENOTFOUND)
}
