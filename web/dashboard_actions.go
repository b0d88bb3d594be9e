package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/wharfhq/wharf"
)

// done redirects after a successful form post (POST/redirect/GET).
func done(w http.ResponseWriter, r *http.Request, path, flash, anchor string) {
	u := path + "?flash=" + url.QueryEscape(flash)
	if anchor != "" {
		u += "#" + anchor
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

func appPath(app string) string { return "/apps/" + url.PathEscape(app) }

func (s *server) createAppForm(w http.ResponseWriter, r *http.Request) {
	user, name := viewerOf(r).Name, strings.TrimSpace(r.PostFormValue("name"))
	app, err := s.svc.CreateApp(r.Context(), user, name)
	if err == nil {
		err = s.grantCreator(r, user, app.Name)
	}
	if err != nil {
		s.htmlError(w, r, err)
		return
	}
	http.Redirect(w, r, appPath(app.Name)+"?created=1", http.StatusSeeOther)
}

// scaleForm reads one quantity per process type from fields qty_TYPE.
func (s *server) scaleForm(w http.ResponseWriter, r *http.Request) {
	app := chi.URLParam(r, "app")
	qty := map[string]int{}
	for k, vs := range r.PostForm {
		typ, ok := strings.CutPrefix(k, "qty_")
		if !ok || len(vs) != 1 {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(vs[0]))
		if err != nil || n < 0 {
			s.htmlError(w, r, wharf.Errorf(wharf.EINVALID, "invalid quantity %q for %s: want a whole number, 0 or more", vs[0], typ))
			return
		}
		qty[typ] = n
	}
	if _, err := s.svc.Scale(r.Context(), viewerOf(r).Name, app, qty); err != nil {
		s.htmlError(w, r, err)
		return
	}
	done(w, r, appPath(app), "scaled", "processes")
}

func (s *server) rollbackForm(w http.ResponseWriter, r *http.Request) {
	app := chi.URLParam(r, "app")
	version, err := strconv.Atoi(r.PostFormValue("version"))
	if err != nil {
		s.htmlError(w, r, wharf.Errorf(wharf.EINVALID, "invalid release version %q", r.PostFormValue("version")))
		return
	}
	if _, err := s.svc.Rollback(r.Context(), viewerOf(r).Name, app, version); err != nil {
		s.htmlError(w, r, err)
		return
	}
	done(w, r, appPath(app), "rolledback", "releases")
}

// configForm sets (key, value) or, with unset=KEY, removes a var; either
// deploys a new release.
func (s *server) configForm(w http.ResponseWriter, r *http.Request) {
	app := chi.URLParam(r, "app")
	u := ConfigUpdate{Restart: true}
	if key := r.PostFormValue("unset"); key != "" {
		u.Unset = []string{key}
	} else {
		key := strings.TrimSpace(r.PostFormValue("key"))
		if key == "" {
			s.htmlError(w, r, wharf.Errorf(wharf.EINVALID, "missing config var name"))
			return
		}
		u.Set = map[string]string{key: r.PostFormValue("value")}
	}
	if _, err := s.svc.UpdateConfig(r.Context(), viewerOf(r).Name, app, u); err != nil {
		s.htmlError(w, r, err)
		return
	}
	done(w, r, appPath(app), "config", "config")
}

func (s *server) addKeyForm(w http.ResponseWriter, r *http.Request) {
	name, key := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("public_key")
	if strings.TrimSpace(key) == "" {
		s.htmlError(w, r, wharf.Errorf(wharf.EINVALID, "paste a public key, such as the content of ~/.ssh/id_ed25519.pub"))
		return
	}
	if _, err := s.svc.AddKey(r.Context(), viewerOf(r).Name, name, key); err != nil {
		s.htmlError(w, r, err)
		return
	}
	done(w, r, "/keys", "keyadded", "")
}

func (s *server) removeKeyForm(w http.ResponseWriter, r *http.Request) {
	user, name := viewerOf(r).Name, chi.URLParam(r, "name")
	err := s.canRemoveKey(r, user, name)
	if err == nil {
		err = s.svc.RemoveKey(r.Context(), user, name)
	}
	if err != nil {
		s.htmlError(w, r, err)
		return
	}
	done(w, r, "/keys", "keyremoved", "")
}

func (s *server) addUserForm(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r, "users") {
		return
	}
	_, err := s.svc.AddUser(r.Context(), viewerOf(r).Name, strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("role"), r.PostFormValue("password"))
	if err != nil {
		s.htmlError(w, r, err)
		return
	}
	done(w, r, "/users", "useradded", "")
}

func (s *server) accessForm(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r, "access") {
		return
	}
	v := viewerOf(r)
	user, app := r.PostFormValue("user"), r.PostFormValue("app")
	var err error
	if r.PostFormValue("revoke") != "" {
		err = s.svc.Revoke(r.Context(), v.Name, app, user)
	} else {
		err = s.svc.Grant(r.Context(), v.Name, app, user)
	}
	if err != nil {
		s.htmlError(w, r, err)
		return
	}
	done(w, r, "/users", "access", "")
}

// writeEvent writes one server-sent event carrying l as JSON.
func writeEvent(w http.ResponseWriter, l LogLine) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "id: %d\ndata: %s\n\n", l.ID, b)
	return err
}

// requireAdmin answers 403 to a viewer who is not an admin and reports
// whether the handler may go on; what names what only admins manage.
func (s *server) requireAdmin(w http.ResponseWriter, r *http.Request, what string) bool {
	if viewerOf(r).Admin() {
		return true
	}
	s.htmlError(w, r, wharf.Errorf(wharf.EFORBIDDEN, "only admins manage %s", what))
	return false
}
