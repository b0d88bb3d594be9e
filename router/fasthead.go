package router

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"strconv"
	"strings"
)

// readResponseHead parses one response head from bc into h. The whole
// head becomes one string; names and values are slices of it, so a head
// costs one string and one []string allocation plus the map's own.
// nothingRead reports that the connection ended before any byte.
func readResponseHead(bc *backendConn, h http.Header) (head respHead, nothingRead bool, err error) {
	raw, nothingRead, err := peekHead(bc.br)
	if err != nil {
		return head, nothingRead, err
	}
	s := string(raw)
	bc.br.Discard(len(raw))
	nl := strings.IndexByte(s, '\n')
	code, http10, ok := statusOf(strings.TrimRight(s[:nl], "\r"))
	if !ok {
		return head, false, errBadResponse
	}
	head = respHead{status: code, contentLength: -1, close: http10}
	vals := make([]string, strings.Count(s, "\n")) // one per line: the status line's is Content-Length's
	for i, rest := 0, s[nl+1:]; ; i++ {
		nl = strings.IndexByte(rest, '\n')
		line := strings.TrimRight(rest[:nl], "\r")
		rest = rest[nl+1:]
		if line == "" {
			return head, false, nil
		}
		if err := head.addHeader(h, line, vals[i+1:i+2:i+2], vals[0:1:1]); err != nil {
			return head, false, err
		}
	}
}

// addHeader adds one "Name: value" line to h (or to head, for framing and
// hop-by-hop headers), with slot as the value's backing array and clSlot
// the one for Content-Length.
func (head *respHead) addHeader(h http.Header, line string, slot, clSlot []string) error {
	colon := strings.IndexByte(line, ':')
	if colon <= 0 || line[0] == ' ' || line[0] == '\t' {
		return errBadResponse // no name, or obsolete line folding
	}
	name := line[:colon]
	if strings.ContainsAny(name, " \t") {
		return errBadResponse
	}
	if !canonical(name) {
		name = textproto.CanonicalMIMEHeaderKey(name)
	}
	value := strings.Trim(line[colon+1:], " \t")
	switch name {
	case "Content-Length":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 0 || (head.contentLength >= 0 && n != head.contentLength) {
			return errBadResponse
		}
		clSlot[0] = value
		head.contentLength, head.clSlot = n, clSlot
		return nil
	case "Transfer-Encoding":
		if !strings.EqualFold(value, "chunked") || head.chunked {
			return errBadResponse
		}
		head.chunked = true
		return nil
	case "Connection":
		for tok := range strings.SplitSeq(value, ",") {
			switch tok = strings.TrimSpace(tok); {
			case strings.EqualFold(tok, "close"):
				head.close = true
			case strings.EqualFold(tok, "keep-alive"):
			default:
				head.close = true // a header named for removal: rare, so just don't reuse
			}
		}
		return nil
	case "Keep-Alive", "Proxy-Connection", "Upgrade", "Te", "Trailer", "Proxy-Authenticate":
		return nil
	}
	if old := h[name]; len(old) > 0 {
		h[name] = append(old, value)
		return nil
	}
	slot[0] = value
	h[name] = slot
	return nil
}

// canonical reports whether name is already in canonical MIME form
// ("Content-Type"), which is how almost every server sends it.
func canonical(name string) bool {
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z':
			if upper {
				return false
			}
		case 'A' <= c && c <= 'Z':
			if !upper {
				return false
			}
		case c == '-':
			upper = true
			continue
		case '0' <= c && c <= '9':
		default:
			return false
		}
		upper = false
	}
	return true
}

// errHeadTooLarge is a response head that does not fit the read buffer.
var errHeadTooLarge = errors.New("response head from backend too large")

// peekHead returns the buffered bytes of a complete response head (up to
// and including its empty line) without consuming them.
func peekHead(br *bufio.Reader) (raw []byte, nothingRead bool, err error) {
	for {
		b, _ := br.Peek(br.Buffered())
		if end := headEnd(b); end > 0 {
			return b[:end], false, nil
		}
		if len(b) == br.Size() {
			return nil, false, errHeadTooLarge
		}
		if _, err := br.Peek(len(b) + 1); err != nil {
			if len(b) == 0 {
				return nil, true, err
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, false, err
		}
	}
}

// headEnd returns the length of the head in b ending with an empty line
// ("\r\n\r\n" or a bare "\n\n"), or 0.
func headEnd(b []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0
		}
		i += j + 1
		switch {
		case i < len(b) && b[i] == '\n':
			return i + 1
		case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
			return i + 2
		}
	}
}

// copyChunked copies a chunked body, flushing each chunk, then passes its
// trailers on as http.TrailerPrefix headers.
func (r *Router) copyChunked(w *responseRecorder, bc *backendConn, h http.Header) (clientErr bool, err error) {
	buf := r.bufPool.Get()
	defer r.bufPool.Put(buf)
	cr := httputil.NewChunkedReader(bc.br)
	for {
		n, rerr := cr.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return true, werr
			}
			w.Flush()
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return false, rerr
		}
	}
	for {
		line, err := bc.br.ReadSlice('\n')
		if err != nil {
			return false, err
		}
		l := strings.TrimRight(string(line), "\r\n")
		if l == "" {
			return false, nil
		}
		if k, v, ok := strings.Cut(l, ":"); ok {
			h[http.TrailerPrefix+textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k))] = []string{strings.TrimSpace(v)}
		}
	}
}
