// Command benchrouter is the fixture of scripts/bench-router.sh: with
// -backend it serves a trivial "hello" app; with -route it runs Wharf's
// router with one static route (Host 127.0.0.1, any port) to that backend.
package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/wharfhq/wharf/router"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18082", "listen address")
	backend := flag.Bool("backend", false, "serve the trivial backend instead of the router")
	route := flag.String("route", "127.0.0.1:18081", "the router's backend address")
	flag.Parse()
	var h http.Handler
	if *backend {
		h = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "hello from the backend\n")
		})
	} else {
		r := router.New(router.Options{Logger: slog.New(slog.DiscardHandler)})
		r.Update([]router.Route{{App: "bench", Hosts: []string{"127.0.0.1"}, Backends: []string{*route}}})
		h = r
	}
	srv := &http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 30 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "benchrouter:", err)
		os.Exit(1)
	}
}
