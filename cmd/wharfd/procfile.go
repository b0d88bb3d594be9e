package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/wharfhq/wharf"
)

// maxProcfile bounds the Procfile and app.json a push may carry.
const maxProcfile = 64 << 10

// parseProcfile reads "type: command" lines; blank lines and lines starting
// with # are skipped. A malformed line, a bad type name or a type given
// twice is an EINVALID error naming the line.
func parseProcfile(b []byte) (map[string]string, error) {
	if len(b) > maxProcfile {
		return nil, wharf.Errorf(wharf.EINVALID, "Procfile is larger than %d bytes", maxProcfile)
	}
	types := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, cmd, ok := strings.Cut(line, ":")
		name, cmd = strings.TrimSpace(name), strings.TrimSpace(cmd)
		switch {
		case !ok:
			return nil, procfileError(n, "expected \"type: command\", got %q", line)
		case wharf.ValidateProcessType(name) != nil:
			return nil, procfileError(n, "invalid process type %q: names must match %s", name, wharf.ProcessTypeRule)
		case cmd == "":
			return nil, procfileError(n, "process type %q has no command", name)
		case types[name] != "":
			return nil, procfileError(n, "process type %q is defined twice", name)
		}
		types[name] = cmd
	}
	if err := sc.Err(); err != nil {
		return nil, wharf.Errorf(wharf.EINVALID, "reading Procfile: %v", err)
	}
	if len(types) == 0 {
		return nil, wharf.Errorf(wharf.EINVALID, "Procfile defines no process type: want lines like \"web: ./server\"")
	}
	return types, nil
}

func procfileError(line int, format string, args ...any) error {
	return wharf.Errorf(wharf.EINVALID, "Procfile line %d: %s", line, fmt.Sprintf(format, args...))
}

// appJSON is the part of Heroku's app.json Wharf reads.
type appJSON struct {
	Healthchecks map[string][]struct {
		Type     string `json:"type"`
		Name     string `json:"name"`
		Path     string `json:"path"`
		Timeout  int    `json:"timeout"`
		Attempts int    `json:"attempts"`
	} `json:"healthchecks"`
}

// parseAppJSON returns the web health check app.json declares (the first
// "startup" check of web, or the first of web without a type).
func parseAppJSON(b []byte) (wharf.HealthCheck, error) {
	var hc wharf.HealthCheck
	if len(b) > maxProcfile {
		return hc, wharf.Errorf(wharf.EINVALID, "app.json is larger than %d bytes", maxProcfile)
	}
	var a appJSON
	if err := json.Unmarshal(b, &a); err != nil {
		return hc, wharf.Errorf(wharf.EINVALID, "app.json is not valid JSON: %v", err)
	}
	for _, c := range a.Healthchecks["web"] {
		if c.Type != "" && c.Type != "startup" {
			continue
		}
		hc = wharf.HealthCheck{Path: c.Path, Timeout: c.Timeout, Attempts: c.Attempts}
		break
	}
	return hc, validateHealth(hc, "app.json healthchecks.web")
}

func validateHealth(hc wharf.HealthCheck, where string) error {
	switch {
	case hc.Path != "" && !strings.HasPrefix(hc.Path, "/"):
		return wharf.Errorf(wharf.EINVALID, "%s: path %q must start with /", where, hc.Path)
	case hc.Timeout < 0 || hc.Timeout > 3600:
		return wharf.Errorf(wharf.EINVALID, "%s: timeout %d must be between 1 and 3600 seconds", where, hc.Timeout)
	case hc.Attempts < 0 || hc.Attempts > 1000:
		return wharf.Errorf(wharf.EINVALID, "%s: attempts %d must be between 1 and 1000", where, hc.Attempts)
	}
	return nil
}
