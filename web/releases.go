package web

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/wharfhq/wharf"
)

// ReleaseService is what the API routes for releases, config, process
// types, scaling, resources and storage (issue 3) need from the daemon.
// Methods that change what runs return once the change is live (or has
// failed with the running release untouched).
type ReleaseService interface {
	// Releases lists the app's releases, newest first.
	Releases(ctx context.Context, app string) ([]wharf.Release, error)
	// Rollback makes a new release from version's image, config and
	// process types and deploys it; version 0 means the deployed release
	// before the current one.
	Rollback(ctx context.Context, user, app string, version int) (wharf.Release, error)
	// Config returns the app's config vars: what the next release gets.
	Config(ctx context.Context, app string) (map[string]string, error)
	// UpdateConfig sets and unsets config vars; with u.Restart it makes a
	// release and deploys it, else it only stores them.
	UpdateConfig(ctx context.Context, user, app string, u ConfigUpdate) (ConfigResult, error)
	// Formation lists the current release's process types with their
	// quantities and resources.
	Formation(ctx context.Context, app string) ([]wharf.Formation, error)
	// Scale sets quantities per process type and converges to them.
	Scale(ctx context.Context, user, app string, quantities map[string]int) ([]wharf.Formation, error)
	// RestartProcesses replaces the processes (of processType, or all when
	// "") with fresh ones, with zero downtime.
	RestartProcesses(ctx context.Context, user, app, processType string) error
	// SetResources sets one type's memory and CPUs, from the next deploy
	// or restart on.
	SetResources(ctx context.Context, user, app string, u ResourcesUpdate) ([]wharf.Formation, error)
	Volumes(ctx context.Context, app string) ([]wharf.Volume, error)
	// MountVolume records v for the next deploy.
	MountVolume(ctx context.Context, user, app string, v wharf.Volume) error
	// UnmountVolume stops mounting the volume from the next deploy on; its
	// data stays.
	UnmountVolume(ctx context.Context, user, app, name string) error
	// DestroyVolumes stops the app's processes and deletes its volumes and
	// their data, before the app itself is destroyed.
	DestroyVolumes(ctx context.Context, user, app string) ([]wharf.Volume, error)
}

// ConfigUpdate is the body of PATCH /apps/{app}/config.
type ConfigUpdate struct {
	Set   map[string]string `json:"set,omitempty"`
	Unset []string          `json:"unset,omitempty"`
	// Restart makes a release and deploys it; false stores the vars for
	// the next deploy.
	Restart bool `json:"restart"`
}

// ConfigResult is the answer to a config change.
type ConfigResult struct {
	Config  map[string]string `json:"config"`
	Release *wharf.Release    `json:"release,omitempty"` // nil when nothing was deployed
}

// ResourcesUpdate is the body of PUT /apps/{app}/formation/{type}: empty
// or nil fields keep their value.
type ResourcesUpdate struct {
	Type   string   `json:"type"`
	Memory string   `json:"memory,omitempty"` // e.g. 256m, 1g
	CPUs   *float64 `json:"cpus,omitempty"`
}

type rollbackRequest struct {
	Version int `json:"version"`
}

type scaleRequest struct {
	Quantities map[string]int `json:"quantities"`
}

type restartRequest struct {
	Type string `json:"type"`
}

// releaseRoutes registers the API routes for releases, config, process
// types, scaling, resources and storage (issue 3).
func (s *server) releaseRoutes(r chi.Router) {
	r.Get("/apps/{app}/releases", s.api(s.listReleases))
	r.Post("/apps/{app}/rollback", s.api(s.rollback))
	r.Get("/apps/{app}/config", s.api(s.getConfig))
	r.Patch("/apps/{app}/config", s.api(s.updateConfig))
	r.Get("/apps/{app}/formation", s.api(s.getFormation))
	r.Patch("/apps/{app}/formation", s.api(s.scale))
	r.Put("/apps/{app}/formation/{type}", s.api(s.setResources))
	r.Post("/apps/{app}/restart", s.api(s.restart))
	r.Get("/apps/{app}/storage", s.api(s.listVolumes))
	r.Post("/apps/{app}/storage", s.api(s.mountVolume))
	r.Delete("/apps/{app}/storage/{name}", s.api(s.unmountVolume))
	r.Post("/apps/{app}/storage/destroy", s.api(s.destroyVolumes))
}

func (s *server) listReleases(w http.ResponseWriter, r *http.Request, _ string) error {
	rels, err := s.svc.Releases(r.Context(), chi.URLParam(r, "app"))
	return answer(w, http.StatusOK, rels, err, []wharf.Release{})
}

func (s *server) rollback(w http.ResponseWriter, r *http.Request, user string) error {
	var req rollbackRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Version < 0 {
		return wharf.Errorf(wharf.EINVALID, "invalid release v%d", req.Version)
	}
	rel, err := s.svc.Rollback(r.Context(), user, chi.URLParam(r, "app"), req.Version)
	return answer(w, http.StatusCreated, rel, err, rel)
}

func (s *server) getConfig(w http.ResponseWriter, r *http.Request, _ string) error {
	cfg, err := s.svc.Config(r.Context(), chi.URLParam(r, "app"))
	return answer(w, http.StatusOK, cfg, err, map[string]string{})
}

func (s *server) updateConfig(w http.ResponseWriter, r *http.Request, user string) error {
	var req ConfigUpdate
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.Set) == 0 && len(req.Unset) == 0 {
		return wharf.Errorf(wharf.EINVALID, `nothing to change: send {"set": {"KEY": "value"}} or {"unset": ["KEY"]}`)
	}
	res, err := s.svc.UpdateConfig(r.Context(), user, chi.URLParam(r, "app"), req)
	if res.Config == nil {
		res.Config = map[string]string{}
	}
	return answer(w, http.StatusOK, res, err, res)
}

func (s *server) getFormation(w http.ResponseWriter, r *http.Request, _ string) error {
	f, err := s.svc.Formation(r.Context(), chi.URLParam(r, "app"))
	return answer(w, http.StatusOK, f, err, []wharf.Formation{})
}

func (s *server) scale(w http.ResponseWriter, r *http.Request, user string) error {
	var req scaleRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.Quantities) == 0 {
		return wharf.Errorf(wharf.EINVALID, `nothing to scale: send {"quantities": {"web": 2}}`)
	}
	f, err := s.svc.Scale(r.Context(), user, chi.URLParam(r, "app"), req.Quantities)
	return answer(w, http.StatusOK, f, err, []wharf.Formation{})
}

func (s *server) setResources(w http.ResponseWriter, r *http.Request, user string) error {
	var req ResourcesUpdate
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	req.Type = chi.URLParam(r, "type")
	if req.Memory == "" && req.CPUs == nil {
		return wharf.Errorf(wharf.EINVALID, `nothing to set: send {"memory": "256m"} and/or {"cpus": 0.5}`)
	}
	f, err := s.svc.SetResources(r.Context(), user, chi.URLParam(r, "app"), req)
	return answer(w, http.StatusOK, f, err, []wharf.Formation{})
}

func (s *server) restart(w http.ResponseWriter, r *http.Request, user string) error {
	var req restartRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.svc.RestartProcesses(r.Context(), user, chi.URLParam(r, "app"), req.Type); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) listVolumes(w http.ResponseWriter, r *http.Request, _ string) error {
	vs, err := s.svc.Volumes(r.Context(), chi.URLParam(r, "app"))
	return answer(w, http.StatusOK, vs, err, []wharf.Volume{})
}

func (s *server) mountVolume(w http.ResponseWriter, r *http.Request, user string) error {
	var v wharf.Volume
	if err := decodeJSON(w, r, &v); err != nil {
		return err
	}
	if err := s.svc.MountVolume(r.Context(), user, chi.URLParam(r, "app"), v); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *server) unmountVolume(w http.ResponseWriter, r *http.Request, user string) error {
	if err := s.svc.UnmountVolume(r.Context(), user, chi.URLParam(r, "app"), chi.URLParam(r, "name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) destroyVolumes(w http.ResponseWriter, r *http.Request, user string) error {
	vs, err := s.svc.DestroyVolumes(r.Context(), user, chi.URLParam(r, "app"))
	return answer(w, http.StatusOK, vs, err, []wharf.Volume{})
}

// answer writes v (or empty when v is a nil slice or map) with status, or
// returns err.
func answer[T any](w http.ResponseWriter, status int, v T, err error, empty T) error {
	if err != nil {
		return err
	}
	if isNil(v) {
		writeJSON(w, status, empty)
		return nil
	}
	writeJSON(w, status, v)
	return nil
}

func isNil(v any) bool {
	switch x := v.(type) {
	case []wharf.Release:
		return x == nil
	case []wharf.Formation:
		return x == nil
	case []wharf.Volume:
		return x == nil
	case map[string]string:
		return x == nil
	}
	return false
}
