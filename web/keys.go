package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/wharfhq/wharf"
)

// addKeyRequest is the body of POST /api/v1/keys.
type addKeyRequest struct {
	Name      string `json:"name"`
	PublicKey string `json:"public_key"`
}

// listKeys answers GET /keys with a JSON array of keys.
func (s *server) listKeys(w http.ResponseWriter, r *http.Request, user string) error {
	keys, err := s.svc.ListKeys(r.Context())
	if err == nil {
		keys, err = s.ownKeys(r, user, keys) // members see their own keys only
	}
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []wharf.Key{}
	}
	writeJSON(w, http.StatusOK, keys)
	return nil
}

// addKey answers POST /keys {"name", "public_key"} with 201 and the key.
func (s *server) addKey(w http.ResponseWriter, r *http.Request, user string) error {
	var req addKeyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Name == "" || req.PublicKey == "" {
		return wharf.Errorf(wharf.EINVALID, `missing key name or public key: send {"name": "...", "public_key": "ssh-ed25519 AAAA..."}`)
	}
	key, err := s.svc.AddKey(r.Context(), user, req.Name, req.PublicKey)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, key)
	return nil
}

// removeKey answers DELETE /keys/{name} with 204.
func (s *server) removeKey(w http.ResponseWriter, r *http.Request, user string) error {
	if err := s.canRemoveKey(r, user, chi.URLParam(r, "name")); err != nil {
		return err
	}
	if err := s.svc.RemoveKey(r.Context(), user, chi.URLParam(r, "name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
