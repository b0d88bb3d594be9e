// Package swarmtest gives tests of Wharf's Docker Swarm backend real swarms
// to run against, made only from what is on the machine (no registry is
// reachable, nothing is pulled):
//
//   - SingleNode: the host's own engine as a one-node swarm manager.
//   - Cluster / ClusterWith: n Docker Engines in containers on the host engine
//     (node 1 the manager, the others workers) built from the host's own
//     engine binaries (NodeImage), reachable from the test at
//     <node IP>:<published port>; LoadImage copies an image into a node, Kill
//     simulates the loss of one.
//   - Registry: an image registry (distribution's, embedded) served by the
//     test process, so nodes can push and pull through it.
//   - BuildImage and WebApp: small busybox images built on any engine, from
//     the base image testenv makes from the host's static busybox.
//   - Service and Endpoints: a service removed when the test ends, and the
//     addresses of its running tasks the way the router dials them.
//
// Tests skip when Docker or a host binary is missing and fail instead when CI
// is set (testenv.Missing).
//
// The host engine's swarm: SingleNode initialises it (advertising 127.0.0.1,
// listening on 127.0.0.1:2377) when it is inactive and leaves it active when
// the test ends, because other tests and packages running at the same time
// may be using it and leaving would delete their services. It never leaves a
// swarm, its own or one found there; it only removes the services it made.
// A swarm it created carries the label wharf.swarmtest=single-node. To get
// rid of it: docker swarm leave --force.
//
// Node containers are not --privileged: on machines whose capability bounding
// set lacks a capability the engine grants privileged containers (here
// CAP_SYS_RESOURCE) runc refuses to start them ("unable to apply caps").
// They get every capability of the bounding set, no seccomp profile, unmasked
// /proc and /sys, access to every device, and the entrypoint remounts /sys
// and the cgroup hierarchies read-write — what dockerd needs of privileged.
package swarmtest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	cerrdefs "github.com/containerd/errdefs"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/wharfhq/wharf/internal/testenv"
)

// LabelRun marks everything this package makes on the host engine: the
// containers, volumes and network of one cluster carry its run ID, the node
// image "node-image", a swarm SingleNode created "single-node".
const LabelRun = "wharf.swarmtest"

// SingleNode makes sure the host engine is a swarm manager and returns a
// client for it. An inactive engine is initialised with advertise address
// 127.0.0.1 and left active afterwards (see the package doc); an engine that
// is a worker, locked or in error calls testenv.Missing.
func SingleNode(t testing.TB) *client.Client {
	t.Helper()
	cli := testenv.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for attempt := 0; ; attempt++ {
		info, err := cli.Info(ctx)
		if err != nil {
			t.Fatalf("docker info: %v", err)
		}
		switch info.Swarm.LocalNodeState {
		case swarm.LocalNodeStateActive:
			if !info.Swarm.ControlAvailable {
				testenv.Missing(t, "the host engine is a swarm worker, not a manager")
			}
			return cli
		case swarm.LocalNodeStateInactive:
			_, err := cli.SwarmInit(ctx, swarm.InitRequest{
				ListenAddr:    "127.0.0.1:2377",
				AdvertiseAddr: "127.0.0.1",
				Spec:          swarm.Spec{Annotations: swarm.Annotations{Labels: map[string]string{LabelRun: "single-node"}}},
			})
			if err == nil {
				t.Logf("initialised a single-node swarm on the host engine (left active; docker swarm leave --force removes it)")
				return cli
			}
			// Another test process may have initialised it meanwhile.
			if attempt > 3 || !strings.Contains(err.Error(), "already part of a swarm") {
				t.Fatalf("docker swarm init: %v", err)
			}
		case swarm.LocalNodeStatePending:
			if attempt > 20 {
				t.Fatalf("the host engine's swarm stays pending")
			}
			time.Sleep(500 * time.Millisecond)
		default:
			testenv.Missing(t, "the host engine's swarm is %s: %s", info.Swarm.LocalNodeState, info.Swarm.Error)
		}
	}
}

// UniqueName returns prefix followed by a random suffix, for services and
// images no other test or run uses.
func UniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// WebPort is the port WebApp images listen on.
const WebPort = 8080

// WebApp returns a Dockerfile for an app serving body at / with busybox
// httpd on WebPort, with a container HEALTHCHECK that GETs it every second.
// healthy false makes an image whose health check always fails (an update
// that must be rolled back). Note: busybox wget -T crashes; the check uses
// wget without it.
func WebApp(body string, healthy bool) (dockerfile string, files map[string]string) {
	check := fmt.Sprintf("wget -q -O /dev/null http://127.0.0.1:%d/ || exit 1", WebPort)
	if !healthy {
		check = "exit 1"
	}
	dockerfile = fmt.Sprintf(`FROM %s
COPY index.html /www/index.html
EXPOSE %d
HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD %s
CMD ["httpd", "-f", "-p", "%d", "-h", "/www"]
`, testenv.BusyboxImage, WebPort, check, WebPort)
	return dockerfile, map[string]string{"index.html": body}
}

// BuildImage builds dockerfile with files as its context and tags it on the
// engine cli talks to (the host's or a node's), importing testenv's busybox
// base there first when the engine lacks it.
func BuildImage(ctx context.Context, cli client.APIClient, tag, dockerfile string, files map[string]string) error {
	if _, err := cli.ImageInspect(ctx, testenv.BusyboxImage); err != nil {
		if err := testenv.ImportBusybox(ctx, cli, testenv.BusyboxImage); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	all := map[string]string{"Dockerfile": dockerfile}
	for name, body := range files {
		all[name] = body
	}
	for name, body := range all {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
			return err
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	resp, err := cli.ImageBuild(ctx, &buf, build.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true})
	if err != nil {
		return fmt.Errorf("building %s: %w", tag, err)
	}
	defer resp.Body.Close()
	if err := drainJSON(resp.Body); err != nil {
		return fmt.Errorf("building %s: %w", tag, err)
	}
	return nil
}

// Service creates spec and removes the service when the test ends, waiting
// until its containers are gone from this engine. It returns the service ID.
func Service(t testing.TB, cli client.APIClient, spec swarm.ServiceSpec, opts swarm.ServiceCreateOptions) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := cli.ServiceCreate(ctx, spec, opts)
	if err != nil {
		t.Fatalf("creating service %s: %v", spec.Name, err)
	}
	t.Cleanup(func() {
		if err := RemoveService(context.Background(), cli, resp.ID); err != nil {
			t.Errorf("removing service %s: %v", spec.Name, err)
		}
	})
	return resp.ID
}

// RemoveService removes a service and waits (up to 30 s) until none of its
// containers is left on the engine cli talks to. A service already removed
// is not an error.
func RemoveService(ctx context.Context, cli client.APIClient, id string) error {
	svc, _, err := cli.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if err := cli.ServiceRemove(ctx, id); err != nil && !cerrdefs.IsNotFound(err) {
		return err
	}
	f := filters.NewArgs(filters.Arg("label", "com.docker.swarm.service.id="+svc.ID))
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d containers of service %s still there 30s after removing it", len(list), svc.Spec.Name)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Endpoint is one running task of a service as the router would dial it.
type Endpoint struct {
	Task, Node string // IDs
	NodeAddr   string // node.Status.Addr
	Port       uint32 // the task's published port for the target port
}

// HostPort is NodeAddr:Port.
func (e Endpoint) HostPort() string { return fmt.Sprintf("%s:%d", e.NodeAddr, e.Port) }

// ErrNoPort is returned by Endpoints when a running task has no published
// port for the target port (the service does not publish it in host mode).
var ErrNoPort = errors.New("running task publishes no host port for the target port")

// Endpoints lists the tasks of service that a router should send traffic
// to: desired state and observed state both running (a task on a node that
// died keeps observed state running forever), on a node whose status is
// ready, with the host port published for targetPort (task.Status.PortStatus).
func Endpoints(ctx context.Context, cli client.APIClient, service string, targetPort uint32) ([]Endpoint, error) {
	tasks, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(
		filters.Arg("service", service), filters.Arg("desired-state", "running"))})
	if err != nil {
		return nil, err
	}
	nodes, err := cli.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return nil, err
	}
	ready := map[string]string{}
	for _, n := range nodes {
		if n.Status.State == swarm.NodeStateReady {
			ready[n.ID] = n.Status.Addr
		}
	}
	var eps []Endpoint
	for _, task := range tasks {
		addr, ok := ready[task.NodeID]
		if task.DesiredState != swarm.TaskStateRunning || task.Status.State != swarm.TaskStateRunning || !ok {
			continue
		}
		ep := Endpoint{Task: task.ID, Node: task.NodeID, NodeAddr: addr}
		for _, p := range task.Status.PortStatus.Ports {
			// The first is the IPv4 one: an engine with IPv6 also binds
			// ::, on a port of its own choosing that may differ.
			if p.TargetPort == targetPort && p.PublishMode == swarm.PortConfigPublishModeHost && ep.Port == 0 {
				ep.Port = p.PublishedPort
			}
		}
		if ep.Port == 0 {
			return nil, fmt.Errorf("task %s: %w", task.ID, ErrNoPort)
		}
		eps = append(eps, ep)
	}
	return eps, nil
}
