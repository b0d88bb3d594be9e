package swarmtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/wharfhq/wharf/internal/testenv"
)

// Three engines in containers as one swarm: an image pushed from node 1 to a
// registry the test serves on the host is pulled by nodes 2 and 3; a web
// service spreads a task on every node, each reached by the test at
// <node IP>:<published port>; when a node is killed its task is rescheduled
// on the others.
func TestClusterFailover(t *testing.T) {
	NeedCluster(t)
	host := testenv.Docker(t)
	ctx := context.Background()

	start := time.Now()
	NodeImage(t)
	t.Logf("node image ready in %s", time.Since(start).Round(time.Millisecond))
	s := Cluster(t, 3)
	t.Logf("3-node swarm formed in %s (cached node image check included)", s.Started.Round(time.Millisecond))
	mgr := s.Manager().Client

	// The registry: served by this process on the cluster network's gateway.
	reg := Registry(t, s.Gateway+":0")
	name := UniqueName("web")
	local := buildWeb(t, host, "wharf-swarmtest/"+name+":v1", "v1", true)
	start = time.Now()
	if err := s.LoadImage(ctx, s.Nodes[0], local); err != nil {
		t.Fatal(err)
	}
	t.Logf("LoadImage into node 1: %s", time.Since(start).Round(time.Millisecond))
	remote := reg + "/wharf/" + name + ":v1"
	start = time.Now()
	if err := s.Nodes[0].Client.ImageTag(ctx, local, remote); err != nil {
		t.Fatal(err)
	}
	if err := ImagePush(ctx, s.Nodes[0].Client, remote); err != nil {
		t.Fatalf("pushing %s from node 1: %v", remote, err)
	}
	for _, n := range s.Nodes[1:] {
		if err := ImagePull(ctx, n.Client, remote); err != nil {
			t.Fatalf("pulling %s on %s: %v", remote, n.Name, err)
		}
	}
	t.Logf("pushed %s from node 1 and pulled it on nodes 2 and 3 in %s", remote, time.Since(start).Round(time.Millisecond))

	// QueryRegistry: the manager resolves the tag to a digest, so every
	// node runs the same image.
	start = time.Now()
	id := Service(t, mgr, webService("wharf-"+name+"-web", remote, 3), swarm.ServiceCreateOptions{QueryRegistry: true})
	eps := waitServing(t, mgr, id, 3, "v1", Endpoint.HostPort, time.Minute)
	t.Logf("3 tasks serving after %s", time.Since(start).Round(time.Millisecond))
	svc, _, err := mgr.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := svc.Spec.TaskTemplate.ContainerSpec.Image; !strings.Contains(img, "@sha256:") {
		t.Errorf("service image %q is not pinned to a digest", img)
	}
	byNode := map[string]Endpoint{}
	for _, e := range eps {
		byNode[e.Node] = e
	}
	if len(byNode) != 3 {
		t.Fatalf("tasks on %d nodes, want one on each of 3: %+v", len(byNode), eps)
	}
	for _, n := range s.Nodes {
		e, ok := byNode[n.NodeID]
		if !ok {
			t.Fatalf("no task on %s", n.Name)
		}
		if e.NodeAddr != n.IP {
			t.Errorf("%s: node.Status.Addr %q, container IP %s", n.Name, e.NodeAddr, n.IP)
		}
		t.Logf("%s (%s): task %s at %s", n.Name, n.IP, e.Task, e.HostPort())
	}

	// Lose a worker.
	victim := s.Nodes[2]
	p := startProber(mgr, id, Endpoint.HostPort)
	killed := time.Now()
	if err := s.Kill(ctx, victim); err != nil {
		t.Fatal(err)
	}
	down, replaced := watchFailover(t, s, id, victim, killed)
	eps = waitServing(t, mgr, id, 3, "v1", Endpoint.HostPort, 2*time.Minute)
	serving := time.Since(killed)
	t.Logf("after killing %s: node down after %s, replacement task running after %s, 3 tasks answering after %s; prober: %s",
		victim.Name, down.Round(time.Millisecond), replaced.Round(time.Millisecond), serving.Round(time.Millisecond), p.finish())
	for _, f := range p.failed {
		t.Logf("failed request: %s", f)
	}
	for _, e := range eps {
		if e.Node == victim.NodeID {
			t.Errorf("endpoint %s is on the killed node", e.HostPort())
		}
	}
	if p.dark > 0 {
		t.Errorf("%d rounds without any task answering", p.dark)
	}
	logOrphans(t, s, id, victim)
}

// watchFailover polls the manager until the victim is down and a task
// started after the kill is running, and returns both delays.
func watchFailover(t *testing.T, s *Swarm, service string, victim *Node, killed time.Time) (down, replaced time.Duration) {
	t.Helper()
	ctx := context.Background()
	mgr := s.Manager().Client
	for down == 0 || replaced == 0 {
		if time.Since(killed) > 2*time.Minute {
			t.Fatalf("2 minutes after the kill: node down after %s, replacement after %s", down, replaced)
		}
		if down == 0 {
			n, _, err := mgr.NodeInspectWithRaw(ctx, victim.NodeID)
			if err == nil && n.Status.State == swarm.NodeStateDown {
				down = time.Since(killed)
			}
		}
		if replaced == 0 {
			tasks, err := mgr.TaskList(ctx, swarm.TaskListOptions{Filters: filtersFor(service)})
			if err == nil {
				for _, task := range tasks {
					if task.CreatedAt.After(killed) && task.Status.State == swarm.TaskStateRunning {
						replaced = time.Since(killed)
					}
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return down, replaced
}

// logOrphans reports what the manager says about the killed node's task: its
// observed state stays "running" (no agent reports otherwise).
func logOrphans(t *testing.T, s *Swarm, service string, victim *Node) {
	tasks, err := s.Manager().Client.TaskList(context.Background(), swarm.TaskListOptions{Filters: filtersFor(service)})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		if task.NodeID == victim.NodeID {
			t.Logf("task %s on the killed node: desired %s, observed %s (%s)", task.ID, task.DesiredState, task.Status.State, task.Status.Message)
		}
	}
}

// Services on an overlay network reach each other across nodes: by task IP
// and by the service's name (DNS round robin; VIPs need IPVS, which this
// kernel lacks).
func TestClusterOverlayNetwork(t *testing.T) {
	NeedCluster(t)
	host := testenv.Docker(t)
	ctx := context.Background()
	s := Cluster(t, 2)
	mgr := s.Manager().Client
	name := UniqueName("web")
	img := buildWeb(t, host, "wharf-swarmtest/"+name+":v1", "v1", true)
	for _, n := range s.Nodes {
		if err := s.LoadImage(ctx, n, img); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mgr.NetworkCreate(ctx, "wharf-"+name, network.CreateOptions{Driver: "overlay", Attachable: true}); err != nil {
		t.Fatalf("creating an overlay network: %v", err)
	}
	spec := webService("wharf-"+name+"-web", img, 2)
	spec.TaskTemplate.Networks = []swarm.NetworkAttachmentConfig{{Target: "wharf-" + name}}
	id := Service(t, mgr, spec, swarm.ServiceCreateOptions{})
	waitServing(t, mgr, id, 2, "v1", Endpoint.HostPort, time.Minute)

	tasks, err := mgr.TaskList(ctx, swarm.TaskListOptions{Filters: filtersFor(id)})
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, task := range tasks {
		for _, na := range task.NetworksAttachments {
			if na.Network.Spec.Name == "wharf-"+name && task.DesiredState == swarm.TaskStateRunning {
				ip, _, _ := strings.Cut(na.Addresses[0], "/")
				targets = append(targets, ip)
			}
		}
	}
	if len(targets) != 2 {
		t.Fatalf("overlay addresses of the tasks: %v", targets)
	}
	targets = append(targets, spec.Name)
	list, err := s.Manager().Client.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "com.docker.swarm.service.id="+id))})
	if err != nil || len(list) != 1 {
		t.Fatalf("task containers on node 1: %d, %v", len(list), err)
	}
	for _, target := range targets {
		code, err := execExit(ctx, mgr, list[0].ID, "wget", "-q", "-O", "/dev/null", "http://"+target+":8080/")
		if err != nil || code != 0 {
			t.Errorf("wget %s from node 1's task: exit %d, %v", target, code, err)
		}
	}
}

// execExit runs cmd in a container and returns its exit code.
func execExit(ctx context.Context, cli client.APIClient, id string, cmd ...string) (int, error) {
	ex, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: cmd})
	if err != nil {
		return -1, err
	}
	if err := cli.ContainerExecStart(ctx, ex.ID, container.ExecStartOptions{}); err != nil {
		return -1, err
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		st, err := cli.ContainerExecInspect(ctx, ex.ID)
		if err != nil {
			return -1, err
		}
		if !st.Running {
			return st.ExitCode, nil
		}
	}
	return -1, fmt.Errorf("%v still running after 10s", cmd)
}
