// Package wharf holds Wharf's domain: the types every other package speaks
// (apps, keys, builds, releases, processes), the rules for names, and the
// coded errors that the API turns into HTTP statuses and the CLI into one
// line. It imports nothing of Wharf's own.
package wharf

import (
	"regexp"
	"time"
)

// AppNameRule is the rule app names follow, quoted in errors.
const AppNameRule = `^[a-z][a-z0-9-]{0,29}$`

var appNameRE = regexp.MustCompile(AppNameRule)

// ValidateAppName returns an EINVALID error naming the rule when name is not
// a valid app name.
func ValidateAppName(name string) error {
	if !appNameRE.MatchString(name) {
		return Errorf(EINVALID, "invalid app name %q: names must match %s (a lowercase letter, then up to 29 lowercase letters, digits or dashes)", name, AppNameRule)
	}
	return nil
}

// KeyNameRule is the rule SSH key names follow.
const KeyNameRule = `^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`

var keyNameRE = regexp.MustCompile(KeyNameRule)

// ValidateKeyName returns an EINVALID error when name is not a valid key name.
func ValidateKeyName(name string) error {
	if !keyNameRE.MatchString(name) {
		return Errorf(EINVALID, "invalid key name %q: names must match %s", name, KeyNameRule)
	}
	return nil
}

// App is a deployable application, named by the user.
type App struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Key is an SSH public key allowed to push.
type Key struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Owner       string    `json:"owner"`
	Fingerprint string    `json:"fingerprint"` // SHA256:... as ssh.FingerprintSHA256 prints it
	PublicKey   string    `json:"public_key"`  // authorized_keys format, one line
	CreatedAt   time.Time `json:"created_at"`
}

// Build statuses.
const (
	BuildRunning   = "running"
	BuildSucceeded = "succeeded"
	BuildFailed    = "failed"
)

// Build is one attempt to turn a pushed commit into an image.
type Build struct {
	ID         int64     `json:"id"`
	App        string    `json:"app"`
	Commit     string    `json:"commit"`
	Status     string    `json:"status"`
	Image      string    `json:"image,omitempty"`
	Output     string    `json:"output,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Release statuses.
const (
	ReleasePending  = "pending"
	ReleaseDeployed = "deployed"
	ReleaseFailed   = "failed"
)

// Release is an immutable pairing of an image and its config: version N of
// an app. The app's current release is its newest deployed one.
type Release struct {
	ID          int64             `json:"id"`
	App         string            `json:"app"`
	Version     int               `json:"version"`
	Image       string            `json:"image"`
	Commit      string            `json:"commit,omitempty"`
	Config      map[string]string `json:"config,omitempty"`
	Status      string            `json:"status"`
	CreatedBy   string            `json:"created_by"`
	Description string            `json:"description"`
	CreatedAt   time.Time         `json:"created_at"`

	// ProcessTypes are the release's process types (Procfile: type →
	// command; "release" is the release phase); empty: web runs the
	// image's own command.
	ProcessTypes map[string]string `json:"process_types,omitempty"`
	// Health is the health check the release's tree declared (app.json).
	Health HealthCheck `json:"health,omitzero"`
}

// Process is one running container of an app: type.instance of a release.
type Process struct {
	App           string    `json:"app"`
	Release       int       `json:"release"`
	Type          string    `json:"type"`
	Instance      int       `json:"instance"`
	ContainerID   string    `json:"container_id"`
	ContainerName string    `json:"container_name"`
	Addr          string    `json:"addr"`           // host:port the router dials, e.g. 127.0.0.1:49153
	Node          string    `json:"node,omitempty"` // the swarm node it runs on; "" on a single host
	State         string    `json:"state"`
	StartedAt     time.Time `json:"started_at"`
	Restarts      int       `json:"restarts"`
	// ExitCode and LastLog describe the last crash, for `wharf ps`.
	ExitCode  int    `json:"exit_code,omitempty"`
	OOMKilled bool   `json:"oom_killed,omitempty"`
	LastLog   string `json:"last_log,omitempty"`
}

// Node is one Docker Engine of a swarm, as `wharf nodes` shows it.
type Node struct {
	ID           string            `json:"id"`
	Hostname     string            `json:"hostname"`
	Role         string            `json:"role"`         // manager or worker
	State        string            `json:"state"`        // ready, down, unknown, disconnected
	Availability string            `json:"availability"` // active, pause or drain
	Leader       bool              `json:"leader,omitempty"`
	Addr         string            `json:"addr"` // where its published ports are reached
	Engine       string            `json:"engine"`
	Labels       map[string]string `json:"labels,omitempty"`
	Tasks        int               `json:"tasks"` // running tasks of this installation
}

// Labels Wharf puts on every container and image it makes, so a restarted
// daemon can find and adopt them.
const (
	LabelManaged  = "wharf.managed"
	LabelApp      = "wharf.app"
	LabelRelease  = "wharf.release"
	LabelProcess  = "wharf.process"
	LabelInstance = "wharf.instance"
	LabelCommit   = "wharf.commit"
	// LabelInstallation names the Wharf installation (one database) a
	// container belongs to, so daemons sharing a Docker Engine never adopt
	// or remove each other's containers.
	LabelInstallation = "wharf.installation"
)
