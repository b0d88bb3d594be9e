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
	_ "net/http/pprof"
	"os"
	"time"

	"github.com/wharfhq/wharf/router"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18082", "listen address")
	backend := flag.Bool("backend", false, "serve the trivial backend instead of the router")
	route := flag.String("route", "127.0.0.1:18081", "the router's backend address")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address, for profiling")
	loops := flag.Int("loops", 0, "event loops of the front end; 0: one per CPU")
	netHTTP := flag.Bool("nethttp", false, "serve the router with net/http alone instead of its event-loop front end")
	flag.Parse()
	if *pprofAddr != "" {
		go func() { fmt.Fprintln(os.Stderr, http.ListenAndServe(*pprofAddr, nil)) }()
	}
	var h http.Handler
	if *backend {
		h = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "hello from the backend\n")
		})
	} else {
		r := router.New(router.Options{Logger: slog.New(slog.DiscardHandler)})
		r.Update([]router.Route{{App: "bench", Hosts: []string{"127.0.0.1"}, Backends: []string{*route}}})
		if !*netHTTP {
			f, err := r.ListenFront(*listen, router.FrontOptions{Loops: *loops})
			if err != nil {
				fmt.Fprintln(os.Stderr, "benchrouter:", err)
				os.Exit(1)
			}
			fmt.Fprintln(os.Stderr, "benchrouter:", f.Wait())
			os.Exit(1)
		}
		h = r
	}
	mux := http.NewServeMux() // not DefaultServeMux, which holds pprof
	mux.Handle("/", h)
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "benchrouter:", err)
		os.Exit(1)
	}
}
