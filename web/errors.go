package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/wharfhq/wharf"
)

// errorBody is the JSON every failed API request answers with.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// errMethodNotAllowed is the router's own error: a known path, the wrong method.
type errMethodNotAllowed struct{ method, path string }

func (e errMethodNotAllowed) Error() string {
	return fmt.Sprintf("method %s is not allowed on %s", e.method, e.path)
}

// writeError is the one place errors become HTTP responses: it maps the
// error's wharf code to a status and writes {"error", "code"}. Errors that
// are not *wharf.Error are logged and shown as "internal error" only.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := wharf.ErrorCode(err), wharf.ErrorMessage(err)
	var status int
	var mna errMethodNotAllowed
	switch {
	case errors.As(err, &mna):
		status, code, msg = http.StatusMethodNotAllowed, "method_not_allowed", mna.Error()
	case code == wharf.EINVALID:
		status = http.StatusBadRequest
	case code == wharf.ENOTFOUND:
		status = http.StatusNotFound
	case code == wharf.ECONFLICT:
		status = http.StatusConflict
	case code == wharf.EUNAUTHORIZED:
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="wharf"`)
	case code == wharf.EFORBIDDEN:
		status = http.StatusForbidden
	case code == wharf.EUNAVAILABLE:
		status = http.StatusServiceUnavailable
	default:
		status, code, msg = http.StatusInternalServerError, wharf.EINTERNAL, "internal error"
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, errorBody{Error: msg, Code: code})
}
