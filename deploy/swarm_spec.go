package deploy

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/wharfhq/wharf"
)

var (
	networkInspectOptions = network.InspectOptions{}
	networkCreateOptions  = network.CreateOptions{Driver: "overlay", Attachable: true,
		Labels: map[string]string{wharf.LabelManaged: "true"}}
)

// Health check timing of web tasks, inside their containers.
const (
	healthInterval = 2 * time.Second
	healthTimeout  = 3 * time.Second
	healthRetries  = 3
)

// serviceSpec is the service of process type typ of s, web listening on port.
func (w *Swarm) serviceSpec(s Spec, typ string, port int) swarm.ServiceSpec {
	p := s.formation()[typ]
	labels := map[string]string{
		wharf.LabelManaged: "true",
		wharf.LabelApp:     s.App,
		wharf.LabelProcess: typ,
		wharf.LabelRelease: strconv.Itoa(s.Release),
	}
	if w.o.Installation != "" {
		labels[wharf.LabelInstallation] = w.o.Installation
	}
	init, grace := true, w.o.StopGrace
	env := envOf(s.Env)
	cs := &swarm.ContainerSpec{
		Image:           s.Image,
		Labels:          labels,
		Env:             env,
		Init:            &init,
		StopGracePeriod: &grace,
		CapabilityDrop:  []string{"ALL"},
		CapabilityAdd:   capabilities,
		Hostname:        typ + ".{{.Task.Slot}}." + s.App,
	}
	if p.Command != "" {
		cs.Command = []string{"sh", "-c", p.Command}
	}
	for _, v := range s.Volumes {
		cs.Mounts = append(cs.Mounts, mount.Mount{Type: mount.TypeVolume, Source: volumeName(s.App, v.Name), Target: v.Path})
	}
	replicas := uint64(p.Quantity)
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: serviceName(s.App, typ), Labels: labels},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: cs,
			Resources: &swarm.ResourceRequirements{Limits: &swarm.Limit{
				NanoCPUs: int64(p.CPUs * 1e9), MemoryBytes: cmpOr(p.Memory, w.o.Memory), Pids: w.o.PidsLimit}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny, Delay: durationPtr(time.Second)},
			Placement: &swarm.Placement{Constraints: s.Placement,
				Preferences: []swarm.PlacementPreference{{Spread: &swarm.SpreadOver{SpreadDescriptor: "node.id"}}}},
			Networks:  []swarm.NetworkAttachmentConfig{{Target: w.so.Network}},
			LogDriver: &swarm.Driver{Name: "json-file", Options: map[string]string{"max-size": "10m", "max-file": "3"}},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
		// DNS round robin, not a virtual IP: the router dials tasks itself,
		// and IPVS, which VIPs and the ingress mesh need, may be missing.
		EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeDNSRR},
		UpdateConfig: &swarm.UpdateConfig{Parallelism: 1, Order: swarm.UpdateOrderStartFirst,
			FailureAction: swarm.UpdateFailureActionRollback, Monitor: w.so.Monitor},
		RollbackConfig: &swarm.UpdateConfig{Parallelism: 1, Order: swarm.UpdateOrderStartFirst,
			FailureAction: swarm.UpdateFailureActionPause, Monitor: w.so.Monitor},
	}
	if typ == "web" {
		h := w.local.health(s.Health)
		cs.Env = append(append([]string(nil), env...), "PORT="+strconv.Itoa(port), healthPathEnv+"="+h.Path)
		cs.Healthcheck = &container.HealthConfig{Test: []string{"CMD-SHELL", healthScript(port, h.Path)},
			Interval: healthInterval, Timeout: healthTimeout, Retries: healthRetries, StartPeriod: h.Timeout}
		spec.EndpointSpec = &swarm.EndpointSpec{Mode: swarm.ResolutionModeDNSRR, Ports: []swarm.PortConfig{{Protocol: swarm.PortConfigProtocolTCP,
			TargetPort: uint32(port), PublishMode: swarm.PortConfigPublishModeHost}}}
	}
	return spec
}

// healthScript checks a web task from inside its container, with what the
// image has: wget or curl asking for path (any answer below 500 is
// healthy, as for the single-host backend), else a listening socket on the
// port in /proc/net/tcp. (busybox wget has no usable -T; the check's own
// timeout bounds it.)
func healthScript(port int, path string) string {
	url := "http://127.0.0.1:" + strconv.Itoa(port) + path
	hexPort := fmt.Sprintf("%04X", port)
	return strings.Join([]string{
		"if command -v wget >/dev/null 2>&1; then wget -S -O /dev/null '" + url + "' 2>&1 | grep -q 'HTTP/1\\.[01] [1-4]'; exit $?; fi",
		"if command -v curl >/dev/null 2>&1; then curl -s -o /dev/null -m 2 -w '%{http_code}' '" + url + "' | grep -q '^[1-4]'; exit $?; fi",
		"grep -qE ':" + hexPort + " 0+:0000 0A' /proc/net/tcp /proc/net/tcp6 2>/dev/null",
	}, "\n")
}

func replicasOf(s swarm.ServiceSpec) uint64 {
	if s.Mode.Replicated == nil || s.Mode.Replicated.Replicas == nil {
		return 0
	}
	return *s.Mode.Replicated.Replicas
}

func durationPtr(d time.Duration) *time.Duration { return &d }
