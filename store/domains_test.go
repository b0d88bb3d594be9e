package store_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/store"
)

func TestNormalizeHostname(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM.": "example.com", " www.example.com": "www.example.com", "*.Example.com": "*.example.com",
		"a-b.c1.io": "a-b.c1.io",
	} {
		if got, err := store.NormalizeHostname(in); err != nil || got != want {
			t.Errorf("NormalizeHostname(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "localhost", "*.com", "a..b", "-a.com", "a-.com", "a_b.com", "foo.*.com", "*foo.com",
		"127.0.0.1", "ex ample.com", "example.com:80", "a/b.com", fmt.Sprintf("%0*d.com", 64, 0)} {
		if got, err := store.NormalizeHostname(bad); wharf.ErrorCode(err) != wharf.EINVALID {
			t.Errorf("NormalizeHostname(%q) = %q, %v; want EINVALID", bad, got, err)
		}
	}
}

func TestDomains(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	mustApp(t, db, "shop")
	mustApp(t, db, "blog")

	notified := make(chan string, 16)
	go db.Listen(ctx, store.RoutesChannel, func(p string) { notified <- p })
	waitPayload(t, notified, "") // LISTEN established

	d, err := db.AddDomain(ctx, "shop", "WWW.Example.com.")
	if err != nil || d.App != "shop" || d.Hostname != "www.example.com" || d.CreatedAt.IsZero() {
		t.Fatalf("AddDomain = %+v, %v", d, err)
	}
	waitPayload(t, notified, "shop")
	if _, err := db.AddDomain(ctx, "shop", "*.example.com"); err != nil {
		t.Fatal(err)
	}
	_, err = db.AddDomain(ctx, "blog", "www.example.com")
	wantErr(t, err, wharf.ECONFLICT, "domain www.example.com belongs to app shop; remove it there first (wharf domains:remove -a shop www.example.com)")
	_, err = db.AddDomain(ctx, "shop", "www.example.com")
	wantErr(t, err, wharf.ECONFLICT, "domain www.example.com is already added to shop")
	_, err = db.AddDomain(ctx, "nope", "nope.example.com")
	wantCode(t, err, wharf.ENOTFOUND)
	_, err = db.AddDomain(ctx, "blog", "bad_name.com")
	wantCode(t, err, wharf.EINVALID)

	if _, err := db.AddDomain(ctx, "blog", "blog.example.org"); err != nil {
		t.Fatal(err)
	}
	ds, err := db.ListDomains(ctx, "shop")
	if err != nil || len(ds) != 2 || ds[0].Hostname != "*.example.com" || ds[1].Hostname != "www.example.com" {
		t.Fatalf("ListDomains = %+v, %v", ds, err)
	}
	all, err := db.AllDomains(ctx)
	if err != nil || len(all) != 3 || all[0].App != "blog" {
		t.Fatalf("AllDomains = %+v, %v", all, err)
	}

	wantErr(t, db.RemoveDomain(ctx, "blog", "www.example.com"), wharf.ENOTFOUND, "app blog has no domain www.example.com (see wharf domains -a blog)")
	if err := db.RemoveDomain(ctx, "shop", "WWW.example.com"); err != nil {
		t.Fatal(err)
	}
	waitPayload(t, notified, "shop")
	if _, err := db.AddDomain(ctx, "blog", "www.example.com"); err != nil {
		t.Fatalf("a removed domain can be added to another app: %v", err)
	}
	// Destroying an app frees its domains.
	if err := db.DeleteApp(ctx, "blog"); err != nil {
		t.Fatal(err)
	}
	if all, err := db.AllDomains(ctx); err != nil || len(all) != 1 || all[0].Hostname != "*.example.com" {
		t.Fatalf("after DeleteApp, AllDomains = %+v, %v", all, err)
	}
}

// waitPayload waits for a notification with payload want, skipping others.
func waitPayload(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case got := <-ch:
			if got == want {
				return
			}
		case <-deadline:
			t.Fatalf("no notification %q within 5s", want)
		}
	}
}

func TestRouterLogsAreBounded(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	for batch := 0; batch < 3; batch++ {
		var logs []store.RouterLog
		for i := 0; i < 4; i++ {
			n := batch*4 + i
			logs = append(logs, store.RouterLog{App: "shop", Entry: json.RawMessage(fmt.Sprintf(`{"n": %d}`, n))},
				store.RouterLog{App: "blog", Entry: json.RawMessage(fmt.Sprintf(`{"n": %d}`, 100+n))})
		}
		if err := db.AddRouterLogs(ctx, logs, 5); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.RouterLogs(ctx, "shop", 100)
	if err != nil || len(got) != 5 {
		t.Fatalf("RouterLogs = %s, %v; want the 5 newest", got, err)
	}
	var first, last struct{ N int }
	json.Unmarshal(got[0], &first)
	json.Unmarshal(got[4], &last)
	if first.N != 7 || last.N != 11 {
		t.Fatalf("RouterLogs = %s; want n 7..11 oldest first", got)
	}
	if got, _ := db.RouterLogs(ctx, "blog", 2); len(got) != 2 || string(got[1]) != `{"n": 111}` {
		t.Fatalf("RouterLogs(blog, 2) = %s", got)
	}
	if got, err := db.RouterLogs(ctx, "none", 10); err != nil || len(got) != 0 {
		t.Fatalf("RouterLogs(none) = %s, %v", got, err)
	}
}

func TestCertificates(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	mustApp(t, db, "shop")
	later := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	if _, err := db.AddCertificate(ctx, store.Certificate{App: "shop", Names: []string{"a.example.com", "b.example.com"}, CertPEM: "c1", KeyPEM: "k1", NotAfter: later}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddCertificate(ctx, store.Certificate{App: "shop", Names: []string{"c.example.com"}, CertPEM: "c2", KeyPEM: "k2", NotAfter: later}); err != nil {
		t.Fatal(err)
	}
	// Sharing a name replaces the older certificate.
	if _, err := db.AddCertificate(ctx, store.Certificate{App: "shop", Names: []string{"b.example.com"}, CertPEM: "c3", KeyPEM: "k3", NotAfter: later}); err != nil {
		t.Fatal(err)
	}
	list, err := db.ListCertificates(ctx, "shop")
	if err != nil || len(list) != 2 || list[0].Names[0] != "b.example.com" || list[0].KeyPEM != "" || !list[0].NotAfter.Equal(later) {
		t.Fatalf("ListCertificates = %+v, %v", list, err)
	}
	all, err := db.AllCertificates(ctx)
	if err != nil || len(all) != 2 || all[0].KeyPEM != "k2" || all[1].KeyPEM != "k3" {
		t.Fatalf("AllCertificates = %+v, %v", all, err)
	}
	_, err = db.AddCertificate(ctx, store.Certificate{App: "nope", Names: []string{"x.example.com"}, NotAfter: later})
	wantCode(t, err, wharf.ENOTFOUND)
}

func TestRedirectHTTPS(t *testing.T) {
	db := openDB(t)
	ctx := ctxT(t)
	mustApp(t, db, "shop")
	mustApp(t, db, "blog")
	if err := db.SetRedirectHTTPS(ctx, "shop", true); err != nil {
		t.Fatal(err)
	}
	if m, err := db.RedirectHTTPS(ctx); err != nil || !m["shop"] || m["blog"] {
		t.Fatalf("RedirectHTTPS = %v, %v", m, err)
	}
	if err := db.SetRedirectHTTPS(ctx, "shop", false); err != nil {
		t.Fatal(err)
	}
	if m, _ := db.RedirectHTTPS(ctx); len(m) != 0 {
		t.Fatalf("after off: %v", m)
	}
	wantCode(t, db.SetRedirectHTTPS(ctx, "nope", true), wharf.ENOTFOUND)
}
