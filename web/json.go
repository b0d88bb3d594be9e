package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/wharfhq/wharf"
)

// maxBodyBytes bounds every request body; the largest legitimate one is an
// SSH public key (RSA 16384 is ~2.8 KiB).
const maxBodyBytes = 64 << 10

// writeJSON writes v as an indented JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing left to tell it
}

// decodeJSON reads exactly one JSON object from the request body into v,
// refusing unknown fields, trailing data and bodies over maxBodyBytes, with
// EINVALID errors that say what was wrong.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return bodyError(err)
		}
		return wharf.Errorf(wharf.EINVALID, "invalid request body: unexpected data after the JSON object")
	}
	return nil
}

// bodyError turns a JSON decoding error into a message a client can act on.
func bodyError(err error) error {
	var (
		tooBig    *http.MaxBytesError
		syntax    *json.SyntaxError
		typeError *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return wharf.Errorf(wharf.EINVALID, "request body too large: the limit is %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return wharf.Errorf(wharf.EINVALID, "request body is empty: expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return wharf.Errorf(wharf.EINVALID, "invalid request body: the JSON ends too early")
	case errors.As(err, &syntax):
		return wharf.Errorf(wharf.EINVALID, "invalid request body: malformed JSON at byte %d: %v", syntax.Offset, err)
	case errors.As(err, &typeError):
		if typeError.Field == "" {
			return wharf.Errorf(wharf.EINVALID, "invalid request body: expected a JSON object, got a %s", typeError.Value)
		}
		return wharf.Errorf(wharf.EINVALID, "invalid request body: field %q must be a %s, not a %s", typeError.Field, typeError.Type, typeError.Value)
	}
	// DisallowUnknownFields reports `json: unknown field "x"`, and there is
	// no typed error for it.
	return wharf.Errorf(wharf.EINVALID, "invalid request body: %s", trimJSONPrefix(err))
}

func trimJSONPrefix(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}
