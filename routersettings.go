package wharf

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RouterSettings are an app's own router limits, as `wharf router:set`
// sets them. A zero field means the router's default applies.
type RouterSettings struct {
	BodyLimit int64         // request body cap in bytes
	Timeout   time.Duration // longest wait for the app: for its response head, then between two reads of the body
}

// The keys `wharf router:set` takes.
const (
	RouterBodyLimit = "body-limit"
	RouterTimeout   = "timeout"
)

// RouterKeys are the router setting keys, in the order they are shown.
func RouterKeys() []string { return []string{RouterBodyLimit, RouterTimeout} }

// Bounds of the router settings.
const (
	MinBodyLimit     = 1 << 10  // 1k
	MaxBodyLimit     = 64 << 30 // 64g
	MinRouterTimeout = time.Second
	MaxRouterTimeout = time.Hour
)

// RouterChange is a parsed `router:set`: a nil field leaves the setting
// as it is, a zero one resets it to the router's default.
type RouterChange struct {
	BodyLimit *int64
	Timeout   *time.Duration
}

// ParseRouterChange reads key=value settings (an empty value resets the
// key). Unknown keys and bad values are EINVALID errors that say what is
// accepted.
func ParseRouterChange(set map[string]string) (RouterChange, error) {
	var c RouterChange
	if len(set) == 0 {
		return c, Errorf(EINVALID, "no router setting given: %s", routerKeysHelp)
	}
	for _, k := range sortedKeys(set) {
		v := strings.TrimSpace(set[k])
		switch k {
		case RouterBodyLimit:
			n, err := parseBodyLimit(v)
			if err != nil {
				return c, err
			}
			c.BodyLimit = &n
		case RouterTimeout:
			d, err := parseRouterTimeout(v)
			if err != nil {
				return c, err
			}
			c.Timeout = &d
		default:
			return c, Errorf(EINVALID, "unknown router setting %q: %s", k, routerKeysHelp)
		}
	}
	return c, nil
}

const routerKeysHelp = "the settings are body-limit (a size such as 50m) and timeout (a duration such as 90s); an empty value (body-limit=) resets one to the default"

// Apply returns s with c applied.
func (s RouterSettings) Apply(c RouterChange) RouterSettings {
	if c.BodyLimit != nil {
		s.BodyLimit = *c.BodyLimit
	}
	if c.Timeout != nil {
		s.Timeout = *c.Timeout
	}
	return s
}

// parseBodyLimit reads a size, or "" for the default (0).
func parseBodyLimit(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, ok := parseSize(v)
	if !ok || n < MinBodyLimit || n > MaxBodyLimit {
		return 0, Errorf(EINVALID, "invalid body-limit %q: want a size such as 512k, 50m or 1g (k, m, g are 1024, 1024² and 1024³ bytes), from 1k to 64g", v)
	}
	return n, nil
}

// parseRouterTimeout reads a Go duration, or "" for the default (0).
func parseRouterTimeout(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < MinRouterTimeout || d > MaxRouterTimeout {
		return 0, Errorf(EINVALID, "invalid timeout %q: want a duration such as 30s, 90s or 5m, from 1s to 1h", v)
	}
	return d, nil
}

// parseSize reads a size such as 512k, 50m, 1.5g or 1048576 into bytes:
// k, m and g (either case, optionally followed by b) are binary
// multiples, 1024, 1024² and 1024³; no suffix means bytes.
func parseSize(s string) (int64, bool) {
	t := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "b")
	mult := float64(1)
	switch {
	case strings.HasSuffix(t, "k"):
		mult, t = 1<<10, strings.TrimSuffix(t, "k")
	case strings.HasSuffix(t, "m"):
		mult, t = 1<<20, strings.TrimSuffix(t, "m")
	case strings.HasSuffix(t, "g"):
		mult, t = 1<<30, strings.TrimSuffix(t, "g")
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f != f || f < 0 || f*mult > 1<<62 {
		return 0, false
	}
	return int64(f * mult), true
}

// FormatSize writes n bytes the way parseSize reads it back: the largest
// of g, m and k that divides it, else plain bytes.
func FormatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// FormatTimeout writes d as a Go duration, in whole seconds when it is
// one ("90s" rather than "1m30s").
func FormatTimeout(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

// sortedKeys returns m's keys in order, so an error names the first bad
// one predictably.
func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
