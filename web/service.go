// Package web owns Wharf's HTTP interface: the JSON API under /api/v1 (and,
// later, the HTML dashboard), the health check, and the one place where
// wharf error codes become HTTP statuses. It knows nothing of Docker, git or
// Postgres: everything goes through Service, which the daemon implements.
package web

import (
	"context"

	"github.com/wharfhq/wharf"
)

// Service is what the HTTP layer needs from the daemon. Errors should be
// *wharf.Error (possibly wrapped) when meant for the user; anything else
// becomes a 500 "internal error" and is only logged.
type Service interface {
	// Ready returns nil once the daemon takes pushes, else the reason.
	Ready(ctx context.Context) error
	// Authenticate returns the user a bearer token belongs to, or an
	// EUNAUTHORIZED error when the token is invalid.
	Authenticate(ctx context.Context, token string) (user string, err error)
	ListApps(ctx context.Context) ([]AppInfo, error)
	CreateApp(ctx context.Context, user, name string) (wharf.App, error)
	AppInfo(ctx context.Context, name string) (AppInfo, error)
	DestroyApp(ctx context.Context, user, name string) error
	Processes(ctx context.Context, app string) ([]wharf.Process, error)
	ListKeys(ctx context.Context) ([]wharf.Key, error)
	// AddKey parses and validates publicKey (authorized_keys format).
	AddKey(ctx context.Context, user, name, publicKey string) (wharf.Key, error)
	RemoveKey(ctx context.Context, user, name string) error

	// One interface per feature, each in its own file.
	ReleaseService
	DomainService
	BuildService
	ActivityService
	NodeService
}

// AppInfo is an app with what a user needs to reach and push to it.
type AppInfo struct {
	wharf.App
	URL       string          `json:"url"`        // e.g. http://hello.localhost:8080
	GitRemote string          `json:"git_remote"` // e.g. ssh://git@127.0.0.1:2222/hello.git
	Release   *wharf.Release  `json:"release,omitempty"`
	Processes []wharf.Process `json:"processes"`
}
