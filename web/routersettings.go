package web

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/wharfhq/wharf"
)

// RouterSettings are an app's router settings (wharf router), one per key
// in wharf.RouterKeys order.
type RouterSettings struct {
	App      string          `json:"app"`
	Settings []RouterSetting `json:"settings"`
}

// RouterSetting is one router setting of an app. Sizes are written like
// 50m (k, m, g: 1024, 1024², 1024³ bytes), timeouts as Go durations (90s).
type RouterSetting struct {
	Key       string `json:"key"`       // as router:set takes it: body-limit, timeout
	Value     string `json:"value"`     // as set; "" when the default applies
	Default   string `json:"default"`   // the router's
	Effective string `json:"effective"` // Value, else Default
}

// NewRouterSettings describes app's settings s next to the router's
// defaults (both as wharf.RouterSettings, zero fields unset).
func NewRouterSettings(app string, s, defaults wharf.RouterSettings) RouterSettings {
	return RouterSettings{App: app, Settings: []RouterSetting{
		routerSetting(wharf.RouterBodyLimit, formatSize(s.BodyLimit), formatSize(defaults.BodyLimit)),
		routerSetting(wharf.RouterTimeout, formatTimeout(s.Timeout), formatTimeout(defaults.Timeout)),
	}}
}

func routerSetting(key, value, def string) RouterSetting {
	eff := value
	if eff == "" {
		eff = def
	}
	return RouterSetting{Key: key, Value: value, Default: def, Effective: eff}
}

// formatSize and formatTimeout write "" for an unset (zero) setting.
func formatSize(n int64) string {
	if n == 0 {
		return ""
	}
	return wharf.FormatSize(n)
}

func formatTimeout(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return wharf.FormatTimeout(d)
}

// getRouterSettings answers GET /apps/{app}/router with RouterSettings.
func (s *server) getRouterSettings(w http.ResponseWriter, r *http.Request, _ string) error {
	rs, err := s.svc.RouterSettings(r.Context(), chi.URLParam(r, "app"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rs)
	return nil
}

// setRouterSettings answers PATCH /apps/{app}/router {"body-limit": "50m",
// "timeout": ""} (an empty value resets a key) with the new RouterSettings.
func (s *server) setRouterSettings(w http.ResponseWriter, r *http.Request, user string) error {
	var set map[string]string
	if err := decodeJSON(w, r, &set); err != nil {
		return err
	}
	rs, err := s.svc.SetRouterSettings(r.Context(), user, chi.URLParam(r, "app"), set)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rs)
	return nil
}
