// Command wharf-static is the static file server of Wharf's run image: it
// serves a directory on $PORT with ETags, gzip for text, index.html for
// directories, no dotfiles, and optionally a single-page-app fallback
// (unknown paths serve /index.html) with WHARF_STATIC_SPA=1.
package main

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	root := flag.String("root", defaultRoot(), "directory to serve")
	spa := flag.Bool("spa", os.Getenv("WHARF_STATIC_SPA") == "1" || os.Getenv("WHARF_STATIC_SPA") == "true", "serve /index.html for unknown paths")
	flag.Parse()
	port := os.Getenv("PORT")
	if port == "" {
		port = "5000"
	}
	srv := &http.Server{Addr: ":" + port, Handler: newServer(*root, *spa), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("wharf-static serving %s on :%s (spa=%v)", *root, port, *spa)
	log.Fatal(srv.ListenAndServe())
}

func defaultRoot() string {
	if fi, err := os.Stat("public"); err == nil && fi.IsDir() {
		return "public"
	}
	return "."
}

type server struct {
	root string
	spa  bool
}

func newServer(root string, spa bool) http.Handler {
	return &server{root: root, spa: spa}
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := s.resolve(r.URL.Path)
	if !ok && s.spa && path.Ext(r.URL.Path) == "" {
		name, ok = s.resolve("/index.html")
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	serveFile(w, r, name)
}

// resolve maps a URL path to a regular file under root; dotfiles and
// anything outside root are not found.
func (s *server) resolve(urlPath string) (string, bool) {
	clean := path.Clean("/" + urlPath)
	for _, part := range strings.Split(clean, "/") {
		if strings.HasPrefix(part, ".") {
			return "", false
		}
	}
	name := filepath.Join(s.root, filepath.FromSlash(clean))
	fi, err := os.Stat(name)
	if err == nil && fi.IsDir() {
		name = filepath.Join(name, "index.html")
		fi, err = os.Stat(name)
	}
	if err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	return name, true
}

func serveFile(w http.ResponseWriter, r *http.Request, name string) {
	f, err := os.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	etag := fmt.Sprintf("%q", etagOf(name, fi))
	w.Header().Set("ETag", etag)
	w.Header().Set("Vary", "Accept-Encoding")
	ctype := mime.TypeByExtension(filepath.Ext(name))
	if ctype != "" {
		w.Header().Set("Content-Type", ctype)
	}
	if compressible(ctype) && fi.Size() > 512 && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") && r.Header.Get("Range") == "" {
		serveGzip(w, r, f, etag)
		return
	}
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

// etagOf identifies a file's version by its path, size and mtime.
func etagOf(name string, fi os.FileInfo) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%d|%d", name, fi.Size(), fi.ModTime().UnixNano()))
	return hex.EncodeToString(h[:8])
}

func serveGzip(w http.ResponseWriter, r *http.Request, f io.Reader, etag string) {
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, strings.Trim(etag, `"`)) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	w.Header().Set("ETag", `W/`+etag)
	if r.Method == http.MethodHead {
		return
	}
	gz := gzip.NewWriter(w)
	if _, err := io.Copy(gz, f); err != nil {
		return
	}
	gz.Close()
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") ||
		strings.Contains(ctype, "json") || strings.Contains(ctype, "xml") || strings.Contains(ctype, "svg")
}
