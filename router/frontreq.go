package router

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
)

// The event-loop front end (front.go) serves a request itself only when its
// head is unambiguous: a GET, HEAD or OPTIONS in HTTP/1.1 origin form with
// one valid Host, no body, no upgrade, no Expect, CRLF line ends, no
// obsolete line folding, and only token names and clean values. Everything
// else is handed to net/http, which parses the same bytes again from the
// start, so the two parsers never disagree about where a request ends.

// Limits of the fast request head; a larger one goes to net/http.
const (
	maxFastHead    = 16 << 10
	maxFastHeaders = 100
	maxForwarded   = 8 // X-Forwarded-For lines kept from a trusted proxy
)

var crlfcrlf = []byte("\r\n\r\n")

// reqHead is a parsed request head; every slice points into the raw head.
type reqHead struct {
	method     []byte
	target     []byte
	host       []byte
	head       bool // a HEAD request: the response has no body
	close      bool // Connection: close
	requestIDs int
	requestID  []byte
	// lines are the header lines passed on to the backend, CRLF included.
	lines [maxFastHeaders][]byte
	nline int
	// Forwarding headers, used only when the peer is a trusted proxy.
	xff                     [maxForwarded][]byte
	nxff                    int
	xfProto, xfHost, xfPort []byte
	realIP                  []byte
}

// parseRequestHead parses raw (ending with the empty line) into h and
// reports whether the request may take the fast path.
func parseRequestHead(raw []byte, h *reqHead) bool {
	nl := bytes.IndexByte(raw, '\n')
	if nl < 1 || raw[nl-1] != '\r' || !h.requestLine(raw[:nl-1]) {
		return false
	}
	hosts := 0
	for rest := raw[nl+1:]; ; {
		nl = bytes.IndexByte(rest, '\n')
		if nl < 1 || rest[nl-1] != '\r' {
			return false
		}
		line := rest[:nl-1]
		if len(line) == 0 {
			return hosts == 1 && h.requestIDs <= 1
		}
		ok, isHost := h.header(line, rest[:nl+1])
		if !ok {
			return false
		}
		if isHost {
			hosts++
		}
		rest = rest[nl+1:]
	}
}

// requestLine parses "METHOD SP /target SP HTTP/1.1".
func (h *reqHead) requestLine(line []byte) bool {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return false
	}
	h.method = line[:sp]
	switch string(h.method) {
	case "GET", "OPTIONS":
	case "HEAD":
		h.head = true
	default:
		return false
	}
	rest := line[sp+1:]
	sp = bytes.IndexByte(rest, ' ')
	if sp < 1 || rest[0] != '/' || string(rest[sp+1:]) != "HTTP/1.1" {
		return false
	}
	h.target = rest[:sp]
	for _, c := range h.target {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// header takes one header line (without CRLF; full is the line with it).
// isHost reports a Host line.
func (h *reqHead) header(line, full []byte) (ok, isHost bool) {
	colon := bytes.IndexByte(line, ':')
	if colon < 1 {
		return false, false // no name, or obsolete line folding
	}
	name, value := line[:colon], trimOWS(line[colon+1:])
	if !validToken(name) || !validValue(value) {
		return false, false
	}
	switch kind := headerKindOf(name); kind {
	case hdrOther:
		if h.nline == maxFastHeaders {
			return false, false
		}
		h.lines[h.nline] = full
		h.nline++
	case hdrHost:
		if !validHost(value) {
			return false, false
		}
		h.host = value
		return true, true
	case hdrRefused:
		return false, false
	case hdrContentLength:
		return string(value) == "0", false
	case hdrConnection:
		return h.connection(value), false
	case hdrRequestID:
		h.requestIDs++
		h.requestID = value
	case hdrXFF:
		if h.nxff == maxForwarded {
			return false, false
		}
		h.xff[h.nxff] = value
		h.nxff++
	case hdrXFProto:
		h.xfProto = firstBytes(h.xfProto, value)
	case hdrXFHost:
		h.xfHost = firstBytes(h.xfHost, value)
	case hdrXFPort:
		h.xfPort = firstBytes(h.xfPort, value)
	case hdrRealIP:
		h.realIP = firstBytes(h.realIP, value)
	}
	return true, false
}

// connection accepts the Connection tokens close and keep-alive; any
// other names a header to remove, which net/http handles.
func (h *reqHead) connection(v []byte) bool {
	for len(v) > 0 {
		tok := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		switch tok = trimOWS(tok); {
		case len(tok) == 0:
		case bytes.EqualFold(tok, []byte("close")):
			h.close = true
		case bytes.EqualFold(tok, []byte("keep-alive")):
		default:
			return false
		}
	}
	return true
}

func firstBytes(have, v []byte) []byte {
	if have != nil {
		return have
	}
	return v
}

// Header kinds the fast path treats specially.
const (
	hdrOther         = iota // passed on as it came
	hdrDropped              // hop-by-hop or replaced by the router
	hdrRefused              // the request goes to net/http
	hdrHost                 // Host
	hdrContentLength        // Content-Length: only 0 is fast
	hdrConnection           // Connection
	hdrRequestID            // X-Request-Id
	hdrXFF                  // X-Forwarded-For
	hdrXFProto              // X-Forwarded-Proto
	hdrXFHost               // X-Forwarded-Host
	hdrXFPort               // X-Forwarded-Port
	hdrRealIP               // X-Real-Ip
)

// headerKindOf classifies a header name, case-insensitively.
func headerKindOf(name []byte) int {
	if len(name) < 2 || len(name) > 19 {
		return hdrOther // every special name is 2 to 19 bytes long
	}
	var buf [19]byte
	lower := buf[:len(name)]
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	switch string(lower) {
	case "host":
		return hdrHost
	case "content-length":
		return hdrContentLength
	case "connection":
		return hdrConnection
	case "x-request-id":
		return hdrRequestID
	case "x-forwarded-for":
		return hdrXFF
	case "x-forwarded-proto":
		return hdrXFProto
	case "x-forwarded-host":
		return hdrXFHost
	case "x-forwarded-port":
		return hdrXFPort
	case "x-real-ip":
		return hdrRealIP
	case "transfer-encoding", "upgrade", "expect", "http2-settings":
		return hdrRefused
	case "proxy-connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "forwarded":
		return hdrDropped
	}
	return hdrOther
}

// tokenChars are the bytes of an RFC 9110 token.
var tokenChars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func validToken(b []byte) bool {
	for _, c := range b {
		if !tokenChars[c] {
			return false
		}
	}
	return len(b) > 0
}

// validValue refuses control characters other than tab.
func validValue(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// hostChars are the bytes net/http accepts in a Host header.
var hostChars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "-._~!$&'()*+,;=:[]%" {
		t[c] = true
	}
	return t
}()

func validHost(b []byte) bool {
	for _, c := range b {
		if !hostChars[c] {
			return false
		}
	}
	return len(b) > 0
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// path returns the target without its query.
func (h *reqHead) path() []byte {
	if i := bytes.IndexByte(h.target, '?'); i >= 0 {
		return h.target[:i]
	}
	return h.target
}

// appendBackendRequest appends the request head the backend gets: the
// client's request line and headers minus hop-by-hop and forwarding ones,
// then the router's X-Forwarded-*, X-Request-Id and X-Real-Ip. id is the
// request id to send.
func appendBackendRequest(out []byte, h *reqHead, fc *frontConn, id []byte) []byte {
	out = append(out, h.method...)
	out = append(out, ' ')
	out = append(out, h.target...)
	out = append(out, " HTTP/1.1\r\nHost: "...)
	out = append(out, h.host...)
	out = append(out, "\r\n"...)
	for _, l := range h.lines[:h.nline] {
		out = append(out, l...)
	}
	out = append(out, "X-Forwarded-For: "...)
	if fc.trusted {
		for _, v := range h.xff[:h.nxff] {
			out = append(out, v...)
			out = append(out, ", "...)
		}
	}
	out = append(out, fc.clientIP...)
	proto, host, port, realIP := protoHTTP, h.host, portBytes(h.host), fc.clientIP
	if fc.trusted {
		proto, host, port, realIP = orBytes(h.xfProto, proto), orBytes(h.xfHost, host), orBytes(h.xfPort, port), orBytes(h.realIP, realIP)
	}
	out = appendHeader(out, "\r\nX-Forwarded-Proto: ", proto)
	out = appendHeader(out, "\r\nX-Forwarded-Host: ", host)
	out = appendHeader(out, "\r\nX-Forwarded-Port: ", port)
	out = appendHeader(out, "\r\nX-Request-Id: ", id)
	out = appendHeader(out, "\r\nX-Real-Ip: ", realIP)
	return append(out, "\r\n\r\n"...)
}

func appendHeader(out []byte, prefix string, v []byte) []byte {
	out = append(out, prefix...)
	return append(out, v...)
}

func orBytes(v, def []byte) []byte {
	if len(v) > 0 {
		return v
	}
	return def
}

var port80, protoHTTP = []byte("80"), []byte("http")

// portBytes returns the port of a Host header, or 80.
func portBytes(host []byte) []byte {
	i := bytes.LastIndexByte(host, ':')
	if i >= 0 && bytes.LastIndexByte(host, ']') < i && i+1 < len(host) {
		return host[i+1:]
	}
	return port80
}

// fillRequestID puts the request id into dst: the client's when it sent
// exactly one sane one, else 128 random bits in hex. It returns the id.
func fillRequestID(dst *[maxRequestIDLen]byte, h *reqHead) []byte {
	if h.requestIDs == 1 && saneRequestIDBytes(h.requestID) {
		return dst[:copy(dst[:], h.requestID)]
	}
	var raw [16]byte
	for i := range 2 {
		u := rand.Uint64()
		for j := range 8 {
			raw[i*8+j] = byte(u >> (8 * j))
		}
	}
	hex.Encode(dst[:32], raw[:])
	return dst[:32]
}

func saneRequestIDBytes(b []byte) bool {
	if len(b) == 0 || len(b) > maxRequestIDLen {
		return false
	}
	for _, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case bytes.IndexByte([]byte("-_.:+/=@"), c) >= 0:
		default:
			return false
		}
	}
	return true
}
