package router

import (
	"bytes"
	"errors"
	"strconv"
)

// maxResponseHead bounds a backend's response head on the event loops.
const maxResponseHead = connReadBuffer

// How a response body is framed on the backend connection.
const (
	frameNone       = iota // no body: HEAD, 1xx, 204, 304
	frameLength            // Content-Length bytes
	frameChunked           // chunked, passed on as it came
	frameUntilClose        // until the backend closes; sent to the client chunked
)

// respInfo is what the event loop needs to know of a response head.
type respInfo struct {
	status  int
	frame   int
	length  int64
	close   bool // the backend connection ends after this response
	hasBody bool
}

// appendClientHead converts a backend response head (raw, ending with the
// empty line) into the head the client gets, appended to out: HTTP/1.1,
// hop-by-hop headers removed, Transfer-Encoding: chunked when the body is
// reframed, Connection: close when the client asked for it. A malformed
// head is an error (a 502 for the client).
func appendClientHead(out, raw []byte, headReq, clientClose bool) ([]byte, respInfo, error) {
	var ri respInfo
	line, rest := nextLine(raw)
	status, http10, ok := statusOfBytes(line)
	if !ok {
		return out, ri, errBadResponse
	}
	ri.status, ri.close, ri.length = status, http10, -1
	out = append(out, "HTTP/1.1 "...)
	out = append(append(out, line[9:]...), "\r\n"...)
	chunked, keepAlive := false, false
	for {
		if line, rest = nextLine(rest); len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 1 || !validToken(line[:colon]) {
			return out, ri, errBadResponse // also refuses obsolete line folding
		}
		value := trimOWS(line[colon+1:])
		if !validValue(value) {
			return out, ri, errBadResponse
		}
		switch responseHeaderKind(line[:colon]) {
		case rhContentLength:
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || (ri.length >= 0 && n != ri.length) {
				return out, ri, errBadResponse
			}
			if ri.length < 0 {
				out = append(append(out, line...), "\r\n"...)
			}
			ri.length = n
		case rhTransferEncoding:
			if !bytes.EqualFold(value, []byte("chunked")) || chunked {
				return out, ri, errBadResponse
			}
			chunked = true
		case rhConnection:
			c, k := connectionTokens(value)
			ri.close = ri.close || c
			keepAlive = keepAlive || k
		case rhDropped:
		default:
			out = append(append(out, line...), "\r\n"...)
		}
	}
	if http10 && keepAlive {
		ri.close = false
	}
	if chunked && ri.length >= 0 {
		return out, ri, errBadResponse // ambiguous framing: refuse it
	}
	ri.hasBody = !headReq && status >= 200 && status != 204 && status != 304
	switch {
	case !ri.hasBody:
		ri.frame = frameNone
	case chunked:
		ri.frame = frameChunked
	case ri.length >= 0:
		ri.frame = frameLength
	default:
		ri.frame, ri.close = frameUntilClose, true
	}
	if ri.frame == frameChunked || ri.frame == frameUntilClose {
		out = append(out, "Transfer-Encoding: chunked\r\n"...)
	}
	if clientClose {
		out = append(out, "Connection: close\r\n"...)
	}
	return append(out, "\r\n"...), ri, nil
}

// nextLine splits off the first line of a head that ends with an empty
// line, without its LF or CRLF.
func nextLine(b []byte) (line, rest []byte) {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		return nil, nil
	}
	line, rest = b[:nl], b[nl+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

// statusOfBytes parses "HTTP/1.x NNN ...".
func statusOfBytes(line []byte) (code int, http10 bool, ok bool) {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || (line[7] != '0' && line[7] != '1') || line[8] != ' ' {
		return 0, false, false
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, false, false
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 || (len(line) > 12 && line[12] != ' ') || !validValue(line[12:]) {
		return 0, false, false
	}
	return code, line[7] == '0', true
}

// connectionTokens reads a response's Connection header. Any token other
// than keep-alive names a header to drop; such a response is rare, so the
// connection is simply not reused.
func connectionTokens(v []byte) (close, keepAlive bool) {
	for _, tok := range bytes.Split(v, []byte(",")) {
		switch tok = trimOWS(tok); {
		case len(tok) == 0:
		case bytes.EqualFold(tok, []byte("keep-alive")):
			keepAlive = true
		default:
			close = true
		}
	}
	return close, keepAlive
}

const (
	rhOther = iota
	rhContentLength
	rhTransferEncoding
	rhConnection
	rhDropped
)

func responseHeaderKind(name []byte) int {
	switch {
	case bytes.EqualFold(name, []byte("Content-Length")):
		return rhContentLength
	case bytes.EqualFold(name, []byte("Transfer-Encoding")):
		return rhTransferEncoding
	case bytes.EqualFold(name, []byte("Connection")):
		return rhConnection
	case bytes.EqualFold(name, []byte("Keep-Alive")), bytes.EqualFold(name, []byte("Proxy-Connection")),
		bytes.EqualFold(name, []byte("Upgrade")), bytes.EqualFold(name, []byte("Te")),
		bytes.EqualFold(name, []byte("Proxy-Authenticate")):
		return rhDropped
	}
	return rhOther
}

// errBadChunk is a malformed chunked body from a backend.
var errBadChunk = errors.New("malformed chunked body from backend")

// chunkScanner follows the framing of a chunked body that is passed on
// verbatim, to find where it ends.
type chunkScanner struct {
	state   int
	size    int64 // chunk data left, or the size being parsed
	digits  int
	lineLen int // bytes of the current size or trailer line
	trailer int // trailer bytes so far
}

const (
	csSize        = iota // hex digits of a chunk size
	csExt                // a chunk extension, up to CR
	csSizeLF             // LF after a size line
	csData               // chunk data
	csDataCR             // CR after chunk data
	csDataLF             // LF after chunk data
	csTrailer            // start of a trailer line, or the final CRLF
	csTrailerLine        // inside a trailer line
	csTrailerLF          // LF ending a trailer line
	csFinalLF            // LF of the final empty line
)

// Bounds of a chunked body's non-data parts.
const (
	maxChunkLine = 4 << 10
	maxTrailers  = 16 << 10
)

// scan consumes p and returns how many of its bytes belong to the body;
// done reports that the body ended after those bytes.
func (s *chunkScanner) scan(p []byte) (n int, done bool, err error) {
	for n < len(p) {
		if s.state == csData {
			k := int64(len(p) - n)
			if k > s.size {
				k = s.size
			}
			n += int(k)
			if s.size -= k; s.size == 0 {
				s.state = csDataCR
			}
			continue
		}
		c := p[n]
		n++
		if done, err = s.step(c); done || err != nil {
			return n, done, err
		}
	}
	return n, false, nil
}

// step consumes one byte of a non-data part.
func (s *chunkScanner) step(c byte) (done bool, err error) {
	switch s.state {
	case csSize:
		return false, s.sizeByte(c)
	case csExt:
		if s.lineLen++; s.lineLen > maxChunkLine || c == '\n' {
			return false, errBadChunk
		}
		if c == '\r' {
			s.state = csSizeLF
		}
	case csSizeLF:
		if c != '\n' {
			return false, errBadChunk
		}
		s.state, s.lineLen = csData, 0
		if s.size == 0 {
			s.state = csTrailer
		}
	case csDataCR:
		return false, s.expect(c, '\r', csDataLF)
	case csDataLF:
		s.digits = 0
		return false, s.expect(c, '\n', csSize)
	case csTrailer:
		if c == '\r' {
			s.state = csFinalLF
			return false, nil
		}
		if c == '\n' {
			return false, errBadChunk
		}
		s.state = csTrailerLine
		return false, s.trailerByte()
	case csTrailerLine:
		switch c {
		case '\r':
			s.state = csTrailerLF
		case '\n':
			return false, errBadChunk
		}
		return false, s.trailerByte()
	case csTrailerLF:
		return false, s.expect(c, '\n', csTrailer)
	case csFinalLF:
		if c != '\n' {
			return false, errBadChunk
		}
		return true, nil
	}
	return false, nil
}

func (s *chunkScanner) sizeByte(c byte) error {
	var v int64
	switch {
	case '0' <= c && c <= '9':
		v = int64(c - '0')
	case 'a' <= c && c <= 'f':
		v = int64(c-'a') + 10
	case 'A' <= c && c <= 'F':
		v = int64(c-'A') + 10
	case (c == ';' || c == '\r') && s.digits > 0:
		s.state = csExt
		if c == '\r' {
			s.state = csSizeLF
		}
		return nil
	default:
		return errBadChunk
	}
	if s.digits++; s.digits > 15 {
		return errBadChunk // more than 2^60 bytes: refuse rather than overflow
	}
	s.size = s.size<<4 | v
	return nil
}

func (s *chunkScanner) expect(c, want byte, next int) error {
	if c != want {
		return errBadChunk
	}
	s.state = next
	return nil
}

func (s *chunkScanner) trailerByte() error {
	if s.trailer++; s.trailer > maxTrailers {
		return errBadChunk
	}
	return nil
}

// chunkHeader formats the size line of a chunk of n bytes into buf.
func chunkHeader(buf *[18]byte, n int) []byte {
	b := strconv.AppendInt(buf[:0], int64(n), 16)
	return append(b, '\r', '\n')
}
