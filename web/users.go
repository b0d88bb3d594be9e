package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/wharfhq/wharf"
)

// addUserRequest is the body of POST /api/v1/users.
type addUserRequest struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

// newUserAnswer is the answer to POST /api/v1/users: the user and its
// first API token, shown only this once.
type newUserAnswer struct {
	User
	Token string `json:"token"`
}

// passwordRequest is the body of PUT /api/v1/users/{name}/password.
type passwordRequest struct {
	Password string `json:"password"`
}

// admin wraps h so only admins reach it.
func (s *server) admin(h apiHandler) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, user string) error {
		u, err := s.svc.User(r.Context(), user)
		if err != nil {
			return err
		}
		if !u.Admin() {
			return wharf.Errorf(wharf.EFORBIDDEN, "only admins may do this")
		}
		return h(w, r, user)
	}
}

func (s *server) whoami(w http.ResponseWriter, r *http.Request, user string) error {
	u, err := s.svc.User(r.Context(), user)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNilApps(u))
	return nil
}

func (s *server) listUsers(w http.ResponseWriter, r *http.Request, _ string) error {
	users, err := s.svc.ListUsers(r.Context())
	if err != nil {
		return err
	}
	out := make([]User, 0, len(users))
	for _, u := range users {
		out = append(out, nonNilApps(u))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) addUser(w http.ResponseWriter, r *http.Request, user string) error {
	var req addUserRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Role == "" {
		req.Role = "member"
	}
	token, err := s.svc.AddUser(r.Context(), user, req.Name, req.Role, req.Password)
	if err != nil {
		return err
	}
	u, err := s.svc.User(r.Context(), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, newUserAnswer{User: nonNilApps(u), Token: token})
	return nil
}

// setPassword lets a user change their own password, and admins anyone's.
func (s *server) setPassword(w http.ResponseWriter, r *http.Request, user string) error {
	name := chi.URLParam(r, "name")
	if name != user {
		u, err := s.svc.User(r.Context(), user)
		if err != nil {
			return err
		}
		if !u.Admin() {
			return wharf.Errorf(wharf.EFORBIDDEN, "only admins may change another user's password")
		}
	}
	var req passwordRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.svc.SetPassword(r.Context(), user, name, req.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) grant(w http.ResponseWriter, r *http.Request, user string) error {
	if err := s.svc.Grant(r.Context(), user, chi.URLParam(r, "app"), chi.URLParam(r, "name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) revoke(w http.ResponseWriter, r *http.Request, user string) error {
	if err := s.svc.Revoke(r.Context(), user, chi.URLParam(r, "app"), chi.URLParam(r, "name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func nonNilApps(u User) User {
	if u.Apps == nil {
		u.Apps = []string{}
	}
	return u
}

// grantCreator gives a member who created an app access to it.
func (s *server) grantCreator(r *http.Request, user, app string) error {
	u, err := s.svc.User(r.Context(), user)
	if err != nil || u.Admin() {
		return err
	}
	return s.svc.Grant(r.Context(), user, app, user)
}

// ownKeys keeps the keys user may see: all for admins, their own for members.
func (s *server) ownKeys(r *http.Request, user string, keys []wharf.Key) ([]wharf.Key, error) {
	u, err := s.svc.User(r.Context(), user)
	if err != nil || u.Admin() {
		return keys, err
	}
	out := []wharf.Key{}
	for _, k := range keys {
		if k.Owner == user {
			out = append(out, k)
		}
	}
	return out, nil
}

// canRemoveKey lets members remove only their own keys.
func (s *server) canRemoveKey(r *http.Request, user, name string) error {
	keys, err := s.svc.ListKeys(r.Context())
	if err != nil {
		return err
	}
	own, err := s.ownKeys(r, user, keys)
	if err != nil || len(own) == len(keys) {
		return err
	}
	for _, k := range own {
		if k.Name == name {
			return nil
		}
	}
	return wharf.Errorf(wharf.ENOTFOUND, "key %q not found", name)
}
