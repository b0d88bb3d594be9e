package router

import (
	"encoding/hex"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// setForwarded sets X-Forwarded-For/Proto/Host/Port, X-Request-Id and
// X-Real-Ip on the outgoing headers h. ReverseProxy has already dropped
// the client's Forwarded and X-Forwarded-For/Host/Proto from h; values
// from in are carried over only when the peer is a trusted proxy. The
// header slices point into ex.headers, so this allocates only the joined
// X-Forwarded-For of a trusted chain.
func (r *Router) setForwarded(h http.Header, in *http.Request, ex *exchange) {
	r.forwardedValues(in, ex)
	v := &ex.headers
	h["X-Forwarded-For"] = v[0:1:1]
	h["X-Forwarded-Proto"] = v[1:2:2]
	h["X-Forwarded-Host"] = v[2:3:3]
	h["X-Forwarded-Port"] = v[3:4:4]
	h["X-Request-Id"] = v[4:5:5]
	h["X-Real-Ip"] = v[5:6:6]
}

// forwardedHeaders names ex.headers' values, in order.
var forwardedHeaders = [6]string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port", "X-Request-Id", "X-Real-Ip"}

// forwardedValues fills ex.headers with the values of forwardedHeaders.
func (r *Router) forwardedValues(in *http.Request, ex *exchange) {
	clientIP, _, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		clientIP = in.RemoteAddr
	}
	trusted := r.trusts(in.RemoteAddr)
	v := &ex.headers
	v[0], v[1], v[2], v[3], v[4], v[5] = clientIP, "http", in.Host, "", ex.requestID, clientIP
	if in.TLS != nil {
		v[1] = "https"
	}
	v[3] = portOf(in.Host, v[1])
	if trusted {
		if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 {
			v[0] = strings.Join(prior, ", ") + ", " + clientIP
		}
		v[1] = firstOr(in.Header["X-Forwarded-Proto"], v[1])
		v[2] = firstOr(in.Header["X-Forwarded-Host"], v[2])
		v[3] = firstOr(in.Header["X-Forwarded-Port"], v[3])
		v[5] = firstOr(in.Header["X-Real-Ip"], v[5])
	}
}

// trusts reports whether the peer at remoteAddr is a trusted proxy.
func (r *Router) trusts(remoteAddr string) bool {
	if len(r.trusted) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range r.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// portOf returns the port in a Host header, or the default for proto.
func portOf(host, proto string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.LastIndexByte(host, ']') < i && i+1 < len(host) {
		return host[i+1:]
	}
	if proto == "https" {
		return "443"
	}
	return "80"
}

func firstOr(vs []string, def string) string {
	if len(vs) > 0 && vs[0] != "" {
		return vs[0]
	}
	return def
}

// maxRequestIDLen bounds a client-supplied X-Request-Id.
const maxRequestIDLen = 128

// requestID keeps a sane client-supplied X-Request-Id and makes a new one
// otherwise: 128 random bits as 32 hex digits, one allocation.
func requestID(vs []string) string {
	if len(vs) == 1 && saneRequestID(vs[0]) {
		return vs[0]
	}
	var raw [16]byte
	for i := range 2 {
		u := rand.Uint64()
		for j := range 8 {
			raw[i*8+j] = byte(u >> (8 * j))
		}
	}
	var out [32]byte
	hex.Encode(out[:], raw[:])
	return string(out[:])
}

// saneRequestID accepts 1–128 characters of letters, digits and -_.:+/=@.
func saneRequestID(s string) bool {
	if len(s) == 0 || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-_.:+/=@", c) >= 0:
		default:
			return false
		}
	}
	return true
}
