package wharf

import (
	"path"
	"regexp"
	"strings"
)

// ConfigKeyRule is the rule config var names follow, quoted in errors.
const ConfigKeyRule = `^[A-Za-z_][A-Za-z0-9_]*$`

var configKeyRE = regexp.MustCompile(ConfigKeyRule)

// ValidateConfigKey returns an EINVALID error naming the rule when key is
// not a valid config var name. PORT is reserved: Wharf sets it to the port
// the router dials, so a value from config would break routing.
func ValidateConfigKey(key string) error {
	if !configKeyRE.MatchString(key) || len(key) > 255 {
		return Errorf(EINVALID, "invalid config var name %q: names must match %s (a letter or _, then letters, digits or _)", key, ConfigKeyRule)
	}
	if key == "PORT" {
		return Errorf(EINVALID, "PORT is reserved: Wharf sets it to the port the router sends traffic to")
	}
	return nil
}

// ProcessTypeRule is the rule process type names (Procfile) follow.
const ProcessTypeRule = `^[a-z][a-z0-9_-]*$`

var processTypeRE = regexp.MustCompile(ProcessTypeRule)

// ValidateProcessType returns an EINVALID error when name is not a valid
// process type name.
func ValidateProcessType(name string) error {
	if !processTypeRE.MatchString(name) || len(name) > 63 {
		return Errorf(EINVALID, "invalid process type %q: names must match %s", name, ProcessTypeRule)
	}
	return nil
}

// VolumeNameRule is the rule named volumes follow.
const VolumeNameRule = `^[a-z][a-z0-9_-]{0,62}$`

var volumeNameRE = regexp.MustCompile(VolumeNameRule)

// ValidateVolume checks a volume's name and mount path.
func ValidateVolume(v Volume) error {
	if !volumeNameRE.MatchString(v.Name) {
		return Errorf(EINVALID, "invalid volume name %q: names must match %s", v.Name, VolumeNameRule)
	}
	if !path.IsAbs(v.Path) || path.Clean(v.Path) != v.Path || v.Path == "/" || strings.ContainsAny(v.Path, ":,\x00") {
		return Errorf(EINVALID, "invalid mount path %q: want an absolute, clean path other than / without ':' or ','", v.Path)
	}
	return nil
}

// HealthCheck is how a release's web processes are checked before they
// get traffic. Zero values take the deployer's defaults.
type HealthCheck struct {
	Path     string `json:"path,omitempty"`
	Timeout  int    `json:"timeout,omitempty"` // seconds
	Attempts int    `json:"attempts,omitempty"`
}

// Formation is the desired quantity and resources of one process type of
// an app; it outlives releases.
type Formation struct {
	Type     string  `json:"type"`
	Quantity int     `json:"quantity"`
	Memory   int64   `json:"memory,omitempty"` // bytes; 0: the default
	CPUs     float64 `json:"cpus,omitempty"`   // 0: no limit
	// Command is the release's command for this type ("" = the image's).
	Command string `json:"command,omitempty"`
}

// Volume is a named volume mounted at Path into every process of an app.
type Volume struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// Memory limits a process type may be given.
const (
	MinMemory = 6 << 20  // the Docker Engine's minimum
	MaxMemory = 64 << 30 // a sanity bound
)

// ParseMemory reads a size such as 256m, 1g, 512M or 1.5g (k, m, g; a
// trailing b is allowed) into bytes, within MinMemory and MaxMemory.
func ParseMemory(s string) (int64, error) {
	n, ok := parseSize(s)
	if !ok || n < MinMemory || n > MaxMemory {
		return 0, Errorf(EINVALID, "invalid memory %q: want a size such as 256m or 1g, from 6m to 64g", s)
	}
	return n, nil
}

// MaxQuantity bounds how many processes of one type an app may ask for.
const MaxQuantity = 100
