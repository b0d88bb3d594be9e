package web

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/wharfhq/wharf"
)

// apiHandler is an API endpoint: it gets the authenticated user and returns
// an error instead of writing one, so errors are written in one place.
type apiHandler func(w http.ResponseWriter, r *http.Request, user string) error

// api wraps h with bearer-token authentication and error writing.
func (s *server) api(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, err := s.authenticate(r)
		if err == nil {
			err = s.authorize(r, user)
		}
		if err == nil {
			err = h(w, r, user)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	}
}

// authenticate returns the user behind the request's bearer token.
func (s *server) authenticate(r *http.Request) (string, error) {
	token, ok := bearerToken(r.Header.Get("Authorization"))
	if !ok {
		return "", wharf.Errorf(wharf.EUNAUTHORIZED, "missing API token: send the header \"Authorization: Bearer <token>\"")
	}
	user, err := s.svc.Authenticate(r.Context(), token)
	if err != nil {
		return "", err
	}
	if user == "" { // a service bug must not let anyone in
		return "", wharf.Errorf(wharf.EUNAUTHORIZED, "invalid API token")
	}
	return user, nil
}

// authorize is the one place app access is checked: every route with an
// {app} parameter requires that the user may access that app.
func (s *server) authorize(r *http.Request, user string) error {
	if app := chi.URLParam(r, "app"); app != "" {
		return s.svc.CanAccess(r.Context(), user, app)
	}
	return nil
}

// visibleApps keeps the apps user may access.
func (s *server) visibleApps(r *http.Request, user string, apps []AppInfo) ([]AppInfo, error) {
	out := make([]AppInfo, 0, len(apps))
	for _, a := range apps {
		err := s.svc.CanAccess(r.Context(), user, a.Name)
		switch wharf.ErrorCode(err) {
		case "":
			out = append(out, a)
		case wharf.EFORBIDDEN, wharf.ENOTFOUND:
		default:
			return nil, err
		}
	}
	return out, nil
}

// bearerToken extracts the token from an Authorization header value.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
