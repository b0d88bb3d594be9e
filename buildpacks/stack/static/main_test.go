package main

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func site(t *testing.T) string {
	dir := t.TempDir()
	files := map[string]string{
		"index.html":      "<h1>home</h1>" + strings.Repeat(" ", 1000),
		"app.js":          "console.log('hi');" + strings.Repeat("/* pad */", 200),
		"docs/index.html": "docs",
		".env":            "SECRET=1",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func get(t *testing.T, h http.Handler, path string, header map[string]string) *http.Response {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestServesFilesWithETagAndGzip(t *testing.T) {
	h := newServer(site(t), false)
	res := get(t, h, "/docs/", nil)
	if b, _ := io.ReadAll(res.Body); res.StatusCode != 200 || string(b) != "docs" {
		t.Fatalf("GET /docs/ = %d %q", res.StatusCode, b)
	}
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if res := get(t, h, "/docs/", map[string]string{"If-None-Match": etag}); res.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET = %d, want 304", res.StatusCode)
	}
	res = get(t, h, "/app.js", map[string]string{"Accept-Encoding": "gzip"})
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("app.js not gzipped: %v", res.Header)
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(zr); !strings.HasPrefix(string(b), "console.log") {
		t.Errorf("gunzipped body %q", b)
	}
}

func TestHidesDotfilesAndFallsBackForSPA(t *testing.T) {
	dir := site(t)
	if res := get(t, newServer(dir, false), "/.env", nil); res.StatusCode != 404 {
		t.Errorf("GET /.env = %d, want 404", res.StatusCode)
	}
	if res := get(t, newServer(dir, false), "/some/route", nil); res.StatusCode != 404 {
		t.Errorf("without SPA: GET /some/route = %d, want 404", res.StatusCode)
	}
	res := get(t, newServer(dir, true), "/some/route", nil)
	if b, _ := io.ReadAll(res.Body); res.StatusCode != 200 || !strings.HasPrefix(string(b), "<h1>home</h1>") {
		t.Errorf("SPA: GET /some/route = %d %q", res.StatusCode, b)
	}
	if res := get(t, newServer(dir, true), "/missing.js", nil); res.StatusCode != 404 {
		t.Errorf("SPA: GET /missing.js = %d, want 404 (assets do not fall back)", res.StatusCode)
	}
}
