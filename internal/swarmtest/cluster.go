package swarmtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/wharfhq/wharf/internal/testenv"
)

// Labels on the host engine's objects besides LabelRun, so a later run can
// remove what a killed test process left behind.
const (
	labelPID  = "wharf.swarmtest.pid"
	labelHost = "wharf.swarmtest.host"
)

// Options configure ClusterWith.
type Options struct {
	// Nodes is the number of engines; node 1 is the swarm's only manager.
	Nodes int
	// StorageDriver of the inner engines: "vfs" (default; works on any
	// backing filesystem) or "overlay2" (works here too: /var/lib/docker is a
	// volume on the host's ext4).
	StorageDriver string
	// InsecureRegistries are added to the inner engines' --insecure-registry
	// flags (host:port or CIDR). The cluster network's gateway (Swarm.Gateway,
	// any port) is always among them.
	InsecureRegistries []string
	// HeartbeatPeriod is the swarm dispatcher's heartbeat (swarm.Spec
	// Dispatcher.HeartbeatPeriod); a node is marked down after about three
	// periods without one. Default 1s (Swarm's own default: 5s).
	HeartbeatPeriod time.Duration
}

// Swarm is a cluster of engines in containers on the host engine.
type Swarm struct {
	Nodes   []*Node
	Network string // the host network the nodes are on
	// Gateway is the host's address on that network: what nodes dial to
	// reach a server the test runs on the host (e.g. Registry).
	Gateway string
	// Started is how long ClusterWith took, node image included.
	Started time.Duration

	host *client.Client
	run  string
}

// Node is one engine of a Swarm.
type Node struct {
	Name   string // container name and the engine's hostname
	ID     string // container ID on the host engine
	IP     string // on Swarm.Network; the engine's API is at tcp://IP:2375
	NodeID string // swarm node ID
	Client *client.Client
	volume string
}

// Manager is node 1, the swarm's manager and leader.
func (s *Swarm) Manager() *Node { return s.Nodes[0] }

// ClusterEnv opts in to the multi-node tests on a laptop, where they would
// start three privileged engines unasked (about two minutes).
const ClusterEnv = "WHARF_TEST_CLUSTER"

// NeedCluster skips a multi-node test on a laptop unless ClusterEnv is 1
// (make test-cluster). CI always runs them: a skip there would hide a red.
func NeedCluster(t testing.TB) {
	t.Helper()
	if os.Getenv(ClusterEnv) != "1" && !testenv.InCI() {
		t.Skipf("set %s=1 (make test-cluster) to run the multi-node swarm tests", ClusterEnv)
	}
}

// Cluster starts n engines as one swarm: ClusterWith with default options.
func Cluster(t testing.TB, n int) *Swarm {
	t.Helper()
	return ClusterWith(t, Options{Nodes: n})
}

// ClusterWith builds (or reuses) the node image, starts o.Nodes engines in
// containers on a network of their own, inits the swarm on node 1 (which
// advertises its container IP) and joins the others as workers. Everything
// it made on the host engine is removed when the test ends, failed or not.
func ClusterWith(t testing.TB, o Options) *Swarm {
	t.Helper()
	start := time.Now()
	if o.Nodes < 1 {
		t.Fatalf("swarmtest: %d nodes", o.Nodes)
	}
	if o.StorageDriver == "" {
		o.StorageDriver = "vfs"
	}
	if o.HeartbeatPeriod == 0 {
		o.HeartbeatPeriod = time.Second
	}
	host := testenv.Docker(t)
	img := NodeImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	removeStale(ctx, t, host)

	s := &Swarm{host: host, run: UniqueName("wharf-swarmtest")}
	t.Cleanup(func() { s.cleanup(t) })
	labels := map[string]string{LabelRun: s.run, labelPID: strconv.Itoa(os.Getpid()), labelHost: hostname()}
	if _, err := host.NetworkCreate(ctx, s.run, network.CreateOptions{Driver: "bridge", Labels: labels}); err != nil {
		t.Fatalf("creating network %s: %v", s.run, err)
	}
	s.Network = s.run
	nw, err := host.NetworkInspect(ctx, s.run, network.InspectOptions{})
	if err != nil || len(nw.IPAM.Config) == 0 || nw.IPAM.Config[0].Gateway == "" {
		t.Fatalf("inspecting network %s: %v (no gateway)", s.run, err)
	}
	s.Gateway = nw.IPAM.Config[0].Gateway
	args := []string{"--storage-driver=" + o.StorageDriver, "--insecure-registry=" + s.Gateway + "/32"}
	for _, r := range o.InsecureRegistries {
		args = append(args, "--insecure-registry="+r)
	}
	for i := 1; i <= o.Nodes; i++ {
		n, err := s.startNode(ctx, img, fmt.Sprintf("%s-%d", s.run, i), args, labels)
		if n != nil {
			s.Nodes = append(s.Nodes, n)
		}
		if err != nil {
			t.Fatalf("starting node %d: %v", i, err)
		}
	}
	if err := s.formSwarm(ctx, o.HeartbeatPeriod); err != nil {
		t.Fatalf("forming the swarm: %v", err)
	}
	s.Started = time.Since(start)
	return s
}

func (s *Swarm) startNode(ctx context.Context, img, name string, args []string, labels map[string]string) (*Node, error) {
	vol, err := s.host.VolumeCreate(ctx, volume.CreateOptions{Name: name, Labels: labels})
	if err != nil {
		return nil, err
	}
	n := &Node{Name: name, volume: vol.Name}
	hc, err := nodeHostConfig(s.Network, vol.Name)
	if err != nil {
		return n, err
	}
	c, err := s.host.ContainerCreate(ctx, &container.Config{Image: img, Hostname: name, Cmd: args, Labels: labels}, hc, nil, nil, name)
	if err != nil {
		return n, err
	}
	n.ID = c.ID
	if err := s.host.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		return n, err
	}
	info, err := s.host.ContainerInspect(ctx, c.ID)
	if err != nil {
		return n, err
	}
	if ep := info.NetworkSettings.Networks[s.Network]; ep != nil {
		n.IP = ep.IPAddress
	}
	if n.IP == "" {
		return n, fmt.Errorf("node %s has no address on %s", name, s.Network)
	}
	n.Client, err = client.NewClientWithOpts(client.WithHost("tcp://"+n.IP+":2375"), client.WithAPIVersionNegotiation())
	if err != nil {
		return n, err
	}
	return n, s.waitEngine(ctx, n)
}

// nodeHostConfig is "privileged" without --privileged (see the package doc).
func nodeHostConfig(net, vol string) (*container.HostConfig, error) {
	caps, err := boundingCapabilities()
	if err != nil {
		return nil, err
	}
	return &container.HostConfig{
		NetworkMode: container.NetworkMode(net),
		CapAdd:      caps,
		SecurityOpt: []string{"seccomp=unconfined", "apparmor=unconfined", "label=disable"},
		// Empty, not nil: nothing masked or read-only under /proc and /sys
		// (the CLI's --security-opt systempaths=unconfined).
		MaskedPaths:   []string{},
		ReadonlyPaths: []string{},
		Resources:     container.Resources{DeviceCgroupRules: []string{"a *:* rwm"}},
		Mounts:        []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: "/var/lib/docker"}},
	}, nil
}

// capabilityNames are the capabilities by number that every engine since
// 20.10 knows; newer ones (perfmon, bpf, checkpoint_restore) make 20.10
// reject the container, and dockerd needs none of them.
var capabilityNames = []string{"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
	"SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK",
	"IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT",
	"SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL",
	"SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ"}

// boundingCapabilities are the capabilities of this process's bounding set
// (the host engine runs with the same one, or a larger one).
func boundingCapabilities() ([]string, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		hexMask, ok := strings.CutPrefix(sc.Text(), "CapBnd:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(hexMask), 16, 64)
		if err != nil {
			return nil, err
		}
		var caps []string
		for i, name := range capabilityNames {
			if mask&(1<<i) != 0 {
				caps = append(caps, name)
			}
		}
		return caps, nil
	}
	return nil, errors.New("no CapBnd in /proc/self/status")
}

// waitEngine waits until the node's engine answers, or its container exits.
func (s *Swarm) waitEngine(ctx context.Context, n *Node) error {
	deadline := time.Now().Add(time.Minute)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := n.Client.Ping(pctx)
		cancel()
		if err == nil {
			return nil
		}
		info, ierr := s.host.ContainerInspect(ctx, n.ID)
		if ierr == nil && !info.State.Running {
			return fmt.Errorf("node %s exited (%d): %s", n.Name, info.State.ExitCode, s.nodeLog(n, 20))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the engine of %s does not answer: %v; log: %s", n.Name, err, s.nodeLog(n, 20))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *Swarm) formSwarm(ctx context.Context, heartbeat time.Duration) error {
	mgr := s.Manager()
	_, err := mgr.Client.SwarmInit(ctx, swarm.InitRequest{
		ListenAddr:    "0.0.0.0:2377",
		AdvertiseAddr: mgr.IP,
		Spec:          swarm.Spec{Dispatcher: swarm.DispatcherConfig{HeartbeatPeriod: heartbeat}},
	})
	if err != nil {
		return fmt.Errorf("swarm init on %s: %w", mgr.Name, err)
	}
	sw, err := mgr.Client.SwarmInspect(ctx)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(s.Nodes))
	for i, n := range s.Nodes[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.Client.SwarmJoin(ctx, swarm.JoinRequest{
				ListenAddr:    "0.0.0.0:2377",
				AdvertiseAddr: n.IP,
				RemoteAddrs:   []string{mgr.IP + ":2377"},
				JoinToken:     sw.JoinTokens.Worker,
			})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("swarm join: %w", err)
	}
	for _, n := range s.Nodes {
		info, err := n.Client.Info(ctx)
		if err != nil {
			return err
		}
		n.NodeID = info.Swarm.NodeID
	}
	return s.WaitReady(ctx, len(s.Nodes))
}

// WaitReady waits (up to a minute) until the manager sees want nodes ready.
func (s *Swarm) WaitReady(ctx context.Context, want int) error {
	deadline := time.Now().Add(time.Minute)
	for {
		nodes, err := s.Manager().Client.NodeList(ctx, swarm.NodeListOptions{})
		ready := 0
		for _, n := range nodes {
			if n.Status.State == swarm.NodeStateReady {
				ready++
			}
		}
		if err == nil && ready >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d nodes ready (%v)", ready, want, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// LoadImage copies ref from the host engine into node n (docker save | docker load).
func (s *Swarm) LoadImage(ctx context.Context, n *Node, ref string) error {
	rc, err := s.host.ImageSave(ctx, []string{ref})
	if err != nil {
		return fmt.Errorf("saving %s: %w", ref, err)
	}
	defer rc.Close()
	resp, err := n.Client.ImageLoad(ctx, rc, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("loading %s into %s: %w", ref, n.Name, err)
	}
	defer resp.Body.Close()
	if err := drainJSON(resp.Body); err != nil {
		return fmt.Errorf("loading %s into %s: %w", ref, n.Name, err)
	}
	return nil
}

// Kill kills node n's container (SIGKILL: its engine and every container in
// it die at once), as if the machine were lost. The container and its volume
// stay until cleanup.
func (s *Swarm) Kill(ctx context.Context, n *Node) error {
	return s.host.ContainerKill(ctx, n.ID, "KILL")
}

// nodeLog is the tail of a node's dockerd output.
func (s *Swarm) nodeLog(n *Node, lines int) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := s.host.ContainerLogs(ctx, n.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(lines)})
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return stripLogHeaders(b)
}

// stripLogHeaders drops the 8-byte stream headers of a non-TTY container log.
func stripLogHeaders(b []byte) string {
	var out strings.Builder
	for len(b) >= 8 {
		size := int(b[4])<<24 | int(b[5])<<16 | int(b[6])<<8 | int(b[7])
		b = b[8:]
		if size > len(b) {
			size = len(b)
		}
		out.Write(b[:size])
		b = b[size:]
	}
	return out.String()
}

func (s *Swarm) cleanup(t testing.TB) {
	if t.Failed() {
		for _, n := range s.Nodes {
			if n.ID != "" {
				t.Logf("last lines of %s's dockerd:\n%s", n.Name, s.nodeLog(n, 30))
			}
		}
	}
	for _, n := range s.Nodes {
		if n.Client != nil {
			n.Client.Close()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := removeRun(ctx, s.host, s.run); err != nil {
		t.Errorf("removing cluster %s: %v", s.run, err)
	}
}

// removeRun removes the containers, volumes and network labelled with run.
func removeRun(ctx context.Context, host client.APIClient, run string) error {
	f := filters.NewArgs(filters.Arg("label", LabelRun+"="+run))
	var errs []error
	containers, err := host.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	errs = append(errs, err)
	for _, c := range containers {
		errs = append(errs, host.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}))
	}
	vols, err := host.VolumeList(ctx, volume.ListOptions{Filters: f})
	errs = append(errs, err)
	for _, v := range vols.Volumes {
		errs = append(errs, host.VolumeRemove(ctx, v.Name, true))
	}
	nets, err := host.NetworkList(ctx, network.ListOptions{Filters: f})
	errs = append(errs, err)
	for _, n := range nets {
		errs = append(errs, host.NetworkRemove(ctx, n.ID))
	}
	return errors.Join(errs...)
}

// removeStale removes clusters that test processes of this host left when
// they were killed before their cleanup ran (a go test -timeout panic).
func removeStale(ctx context.Context, t testing.TB, host client.APIClient) {
	f := filters.NewArgs(filters.Arg("label", labelHost+"="+hostname()))
	stale := map[string]bool{}
	containers, _ := host.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	for _, c := range containers {
		if !processAlive(c.Labels[labelPID]) {
			stale[c.Labels[LabelRun]] = true
		}
	}
	nets, _ := host.NetworkList(ctx, network.ListOptions{Filters: f})
	for _, n := range nets {
		if !processAlive(n.Labels[labelPID]) {
			stale[n.Labels[LabelRun]] = true
		}
	}
	for run := range stale {
		if run == "" {
			continue
		}
		t.Logf("removing cluster %s left by a test process that is gone", run)
		if err := removeRun(ctx, host, run); err != nil {
			t.Logf("removing stale cluster %s: %v", run, err)
		}
	}
}

func processAlive(pid string) bool {
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		return false
	}
	err = syscall.Kill(n, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// ImagePull pulls ref on the engine cli talks to, to the end of the stream.
func ImagePull(ctx context.Context, cli client.APIClient, ref string) error {
	rc, err := cli.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	return drainJSON(rc)
}

// ImagePush pushes ref from the engine cli talks to, to the end of the stream.
func ImagePush(ctx context.Context, cli client.APIClient, ref string) error {
	rc, err := cli.ImagePush(ctx, ref, image.PushOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	return drainJSON(rc)
}
