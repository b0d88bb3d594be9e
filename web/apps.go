package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/wharfhq/wharf"
)

// createAppRequest is the body of POST /api/v1/apps.
type createAppRequest struct {
	Name string `json:"name"`
}

// listApps answers GET /apps with a JSON array of AppInfo.
func (s *server) listApps(w http.ResponseWriter, r *http.Request, user string) error {
	apps, err := s.svc.ListApps(r.Context())
	if err == nil {
		apps, err = s.visibleApps(r, user, apps) // members see granted apps only
	}
	if err != nil {
		return err
	}
	if apps == nil {
		apps = []AppInfo{}
	}
	for i := range apps {
		apps[i] = nonNilProcesses(apps[i])
	}
	writeJSON(w, http.StatusOK, apps)
	return nil
}

// createApp answers POST /apps {"name": ...} with 201 and the new app's
// AppInfo, so the client can show where to push.
func (s *server) createApp(w http.ResponseWriter, r *http.Request, user string) error {
	var req createAppRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		return wharf.Errorf(wharf.EINVALID, `missing app name: send {"name": "..."}`)
	}
	app, err := s.svc.CreateApp(r.Context(), user, req.Name)
	if err != nil {
		return err
	}
	if err := s.grantCreator(r, user, app.Name); err != nil {
		return err
	}
	info, err := s.svc.AppInfo(r.Context(), app.Name)
	if err != nil {
		// The app exists now; answering with an error would mislead.
		s.log.WarnContext(r.Context(), "app created but its info failed", "app", app.Name, "err", err)
		info = AppInfo{App: app}
	}
	writeJSON(w, http.StatusCreated, nonNilProcesses(info))
	return nil
}

// appInfo answers GET /apps/{app}.
func (s *server) appInfo(w http.ResponseWriter, r *http.Request, _ string) error {
	info, err := s.svc.AppInfo(r.Context(), chi.URLParam(r, "app"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNilProcesses(info))
	return nil
}

// destroyApp answers DELETE /apps/{app} with 204.
func (s *server) destroyApp(w http.ResponseWriter, r *http.Request, user string) error {
	if err := s.svc.DestroyApp(r.Context(), user, chi.URLParam(r, "app")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// processes answers GET /apps/{app}/ps with a JSON array of processes.
func (s *server) processes(w http.ResponseWriter, r *http.Request, _ string) error {
	ps, err := s.svc.Processes(r.Context(), chi.URLParam(r, "app"))
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []wharf.Process{}
	}
	writeJSON(w, http.StatusOK, ps)
	return nil
}

// nonNilProcesses makes "processes" a JSON array even when there are none.
func nonNilProcesses(info AppInfo) AppInfo {
	if info.Processes == nil {
		info.Processes = []wharf.Process{}
	}
	return info
}
