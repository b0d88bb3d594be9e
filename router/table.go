package router

import (
	"crypto/tls"
	"log/slog"
	"strings"
	"time"
)

// maxHostLen is the longest DNS name; longer Host headers match nothing.
const maxHostLen = 253

// table is an immutable routing table. Lookups are two map reads at most,
// so their cost does not grow with the number of routes.
type table struct {
	exact    map[string]*route // "hello.localhost" → route
	wild     map[string]*route // "example.com" for "*.example.com"
	routes   int
	backends int
	certs    map[string]*tls.Certificate // by DNS name, "*.example.com" for wildcards; nil when none
}

// route is one app in a table. Built once per Update, then read-only
// except for the balancer's counter.
type route struct {
	app            string
	rr             roundRobin
	noBackendsPage string // the 503 body, made once
	redirectHTTPS  bool
	maxBody        int64         // request body cap, resolved: never 0
	timeout        time.Duration // longest wait for the backend, resolved: never 0
}

// limits are what a route without its own MaxBodyBytes or Timeout gets.
type limits struct {
	maxBody int64
	timeout time.Duration
}

// defaultLimits are the package defaults, for tables built without a Router.
var defaultLimits = limits{maxBody: DefaultMaxBodyBytes, timeout: DefaultTimeout}

// buildTable builds a table with the package's default limits.
func buildTable(routes []Route, log *slog.Logger) *table {
	return defaultLimits.buildTable(routes, log)
}

// buildTable builds a table whose routes fall back to d.
func (d limits) buildTable(routes []Route, log *slog.Logger) *table {
	t := &table{exact: make(map[string]*route), wild: make(map[string]*route)}
	for _, r := range routes {
		rt := d.newRoute(r)
		added := false
		for _, h := range r.Hosts {
			if t.add(h, rt, log) {
				added = true
			}
		}
		if added {
			t.routes++
			t.backends += len(rt.rr.addrs)
		}
	}
	return t
}

// addrs returns the set of backend addresses in t.
func (t *table) addrs() map[string]bool {
	m := map[string]bool{}
	for _, rts := range []map[string]*route{t.exact, t.wild} {
		for _, rt := range rts {
			for _, a := range rt.rr.addrs {
				m[a] = true
			}
		}
	}
	return m
}

func (d limits) newRoute(r Route) *route {
	addrs := make([]string, 0, len(r.Backends))
	for _, b := range r.Backends {
		if b = strings.TrimSpace(b); b != "" {
			addrs = append(addrs, b)
		}
	}
	rt := &route{app: r.App, rr: roundRobin{addrs: addrs}, redirectHTTPS: r.RedirectHTTPS,
		maxBody: r.MaxBodyBytes, timeout: r.Timeout}
	if rt.maxBody <= 0 {
		rt.maxBody = d.maxBody
	}
	if rt.timeout <= 0 {
		rt.timeout = d.timeout
	}
	rt.noBackendsPage = noBackendsPage(r.App)
	return rt
}

// add installs rt under host and reports whether it did. Invalid hosts and
// hosts already taken by an earlier route are logged and skipped.
func (t *table) add(host string, rt *route, log *slog.Logger) bool {
	h := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(host), "."))
	m := t.exact
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		m, h = t.wild, rest
	}
	if h == "" || len(h) > maxHostLen || strings.ContainsAny(h, "*/: \t") {
		log.Warn("router: ignoring invalid host", "app", rt.app, "host", host)
		return false
	}
	if other, taken := m[h]; taken {
		log.Warn("router: host already routed to another app", "app", rt.app, "host", host, "kept", other.app)
		return false
	}
	m[h] = rt
	return true
}

// lookup returns the route for a Host header (any case, optional :port,
// optional trailing dot), or nil. It does not allocate: a mixed-case host
// is lowered into a stack buffer.
func (t *table) lookup(hostHeader string) *route {
	host := strings.TrimSuffix(stripPort(hostHeader), ".")
	if len(host) == 0 || len(host) > maxHostLen {
		return nil
	}
	if !hasUpper(host) {
		return find(t, host)
	}
	var buf [maxHostLen]byte
	name := buf[:copy(buf[:], host)]
	lowerASCII(name)
	return find(t, name)
}

// find looks a lowercase host up: exact first, then the wildcard for its
// parent domain.
func find[S string | []byte](t *table, host S) *route {
	if rt, ok := t.exact[string(host)]; ok {
		return rt
	}
	if len(t.wild) == 0 {
		return nil
	}
	for i := 0; i < len(host); i++ {
		if host[i] == '.' {
			if i == 0 {
				return nil
			}
			return t.wild[string(host[i+1:])]
		}
	}
	return nil
}

// normalizeHost lowercases h and drops a :port and a trailing dot.
func normalizeHost(h string) string {
	return strings.ToLower(strings.TrimSuffix(stripPort(h), "."))
}

// stripPort drops a trailing :port, leaving "[::1]" style literals whole.
func stripPort(h string) string {
	i := strings.LastIndexByte(h, ':')
	if i < 0 || strings.LastIndexByte(h, ']') > i {
		return h
	}
	return h[:i]
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

func lowerASCII(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
}
