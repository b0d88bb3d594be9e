package deploy

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf"
)

var (
	processTypeRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,29}$`)
	volumeNameRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)
)

// maxQuantity bounds the instances of one process type on one node.
const maxQuantity = 100

func (s Spec) validate() error {
	if err := wharf.ValidateAppName(s.App); err != nil {
		return err
	}
	switch {
	case s.Release <= 0:
		return wharf.Errorf(wharf.EINVALID, "invalid release v%d of %s", s.Release, s.App)
	case s.Image == "":
		return wharf.Errorf(wharf.EINVALID, "release v%d of %s has no image", s.Release, s.App)
	case s.Port < 0 || s.Port > 65535:
		return wharf.Errorf(wharf.EINVALID, "invalid port %d", s.Port)
	case s.Health.Path != "" && !strings.HasPrefix(s.Health.Path, "/"):
		return wharf.Errorf(wharf.EINVALID, "health check path %q does not start with /", s.Health.Path)
	case s.Health.Timeout < 0 || s.Health.Attempts < 0:
		return wharf.Errorf(wharf.EINVALID, "invalid health check timeout or attempts")
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return wharf.Errorf(wharf.EINVALID, "invalid config var name %q", k)
		}
	}
	for typ, p := range s.Processes {
		if !processTypeRE.MatchString(typ) || typ == releaseType {
			return wharf.Errorf(wharf.EINVALID, "invalid process type %q (lower-case letters, digits, - and _; not %q)", typ, releaseType)
		}
		if p.Quantity < 0 || p.Quantity > maxQuantity || p.Memory < 0 || p.CPUs < 0 {
			return wharf.Errorf(wharf.EINVALID, "invalid quantity or limits for %s: %d, %d bytes, %g CPUs (0–%d instances)", typ, p.Quantity, p.Memory, p.CPUs, maxQuantity)
		}
	}
	return validateVolumes(s.Volumes)
}

func validateVolumes(vs []Volume) error {
	names, paths := map[string]bool{}, map[string]bool{}
	for _, v := range vs {
		if !volumeNameRE.MatchString(v.Name) {
			return wharf.Errorf(wharf.EINVALID, "invalid volume name %q", v.Name)
		}
		if !path.IsAbs(v.Path) || path.Clean(v.Path) != v.Path || v.Path == "/" || strings.ContainsAny(v.Path, ":,\x00") {
			return wharf.Errorf(wharf.EINVALID, "invalid mount path %q for volume %s: want a clean absolute path", v.Path, v.Name)
		}
		if names[v.Name] || paths[v.Path] {
			return wharf.Errorf(wharf.EINVALID, "volume %s or path %s is mounted twice", v.Name, v.Path)
		}
		names[v.Name], paths[v.Path] = true, true
	}
	return nil
}

// formation is s.Processes, or web×1 with the image's command when empty.
func (s Spec) formation() map[string]ProcessSpec {
	if len(s.Processes) == 0 {
		return map[string]ProcessSpec{"web": {Quantity: 1}}
	}
	return s.Processes
}

// plan turns a spec into the processes to run, one per instance, ordered by
// type and instance: the port resolved and PORT set for web (config cannot
// override it), limits defaulted, volumes named (and created).
func (d *Deployer) plan(ctx context.Context, s Spec) ([]workload, error) {
	port, err := d.port(ctx, s)
	if err != nil {
		return nil, err
	}
	vols, err := d.volumes(ctx, s)
	if err != nil {
		return nil, err
	}
	env := envOf(s.Env)
	f := s.formation()
	types := make([]string, 0, len(f))
	for typ := range f {
		types = append(types, typ)
	}
	sort.Strings(types)
	var ws []workload
	for _, typ := range types {
		p := f[typ]
		w := workload{App: s.App, Release: s.Release, Type: typ, Image: s.Image, Command: p.Command,
			Env: env, Memory: cmpOr(p.Memory, d.o.Memory), NanoCPUs: int64(p.CPUs * 1e9),
			PidsLimit: d.o.PidsLimit, Volumes: vols}
		if typ == "web" {
			w.Port, w.Health = port, d.health(s.Health)
			w.Env = append(append([]string(nil), env...), "PORT="+strconv.Itoa(port))
		}
		for n := 1; n <= p.Quantity; n++ {
			w.Instance = n
			ws = append(ws, w)
		}
	}
	return ws, nil
}

func cmpOr(v, def int64) int64 {
	if v > 0 {
		return v
	}
	return def
}

// port is the port web processes listen on: the spec's, else the image's
// only EXPOSEd one, else DefaultPort.
func (d *Deployer) port(ctx context.Context, s Spec) (int, error) {
	if s.Port != 0 {
		return s.Port, nil
	}
	p, err := d.eng.ImagePort(ctx, s.Image)
	if err != nil {
		return 0, wharf.Errorf(wharf.EINVALID, "cannot deploy v%d of %s: %v", s.Release, s.App, err)
	}
	if p == 0 {
		p = DefaultPort
	}
	return p, nil
}

// volumes creates the spec's volumes that do not exist yet and returns them
// with the engine's names.
func (d *Deployer) volumes(ctx context.Context, s Spec) ([]Volume, error) {
	out := make([]Volume, 0, len(s.Volumes))
	for _, v := range s.Volumes {
		name, err := d.eng.EnsureVolume(ctx, s.App, v.Name)
		if err != nil {
			return nil, fmt.Errorf("volume %s of %s: %w", v.Name, s.App, err)
		}
		out = append(out, Volume{Name: name, Path: v.Path})
	}
	return out, nil
}

func (d *Deployer) health(h HealthCheck) HealthCheck {
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Timeout <= 0 {
		h.Timeout = d.o.HealthTimeout
	}
	return h
}

// envOf returns config vars as sorted KEY=value lines, without PORT.
func envOf(vars map[string]string) []string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		if k != "PORT" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		env = append(env, k+"="+vars[k])
	}
	return env
}
