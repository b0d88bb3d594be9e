package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
	"github.com/wharfhq/wharf"
)

// dockerEngine runs workloads as containers on the local Docker Engine.
type dockerEngine struct {
	cli          client.APIClient
	installation string // LabelInstallation of the containers this engine makes and sees; "" = all
}

var _ engine = dockerEngine{}

// capabilities is all a web process keeps: enough to drop privileges, own
// its files and bind a low port, nothing more.
var capabilities = []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID", "NET_BIND_SERVICE", "KILL"}

func (e dockerEngine) ImagePort(ctx context.Context, ref string) (int, error) {
	img, err := e.cli.ImageInspect(ctx, ref)
	if err != nil {
		return 0, fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	if img.Config == nil || len(img.Config.ExposedPorts) != 1 {
		return 0, nil
	}
	for p := range img.Config.ExposedPorts {
		port := nat.Port(p)
		if port.Proto() != "tcp" {
			return 0, nil
		}
		return port.Int(), nil
	}
	return 0, nil
}

func (e dockerEngine) Run(ctx context.Context, w workload) (string, <-chan int, error) {
	cfg, host := containerConfig(w)
	if e.installation != "" {
		cfg.Labels[wharf.LabelInstallation] = e.installation
	}
	if w.Memory > 0 {
		host.MemorySwap = w.Memory // no swap beyond the limit, so an OOM shows
	}
	created, err := e.cli.ContainerCreate(ctx, cfg, host, nil, nil, w.name())
	if err != nil {
		return "", nil, fmt.Errorf("creating container %s: %w", w.name(), err)
	}
	// Wait before starting, as `docker run` does, so no exit is missed.
	exited := e.wait(ctx, created.ID)
	if err := e.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return created.ID, nil, fmt.Errorf("starting container %s: %w", w.name(), err)
	}
	return created.ID, exited, nil
}

// wait returns a channel that receives the container's next exit code. Its
// goroutine ends when the container exits or ctx ends.
func (e dockerEngine) wait(ctx context.Context, id string) <-chan int {
	resC, errC := e.cli.ContainerWait(ctx, id, container.WaitConditionNextExit)
	exited := make(chan int, 1)
	go func() {
		select {
		case res := <-resC:
			exited <- int(res.StatusCode)
		case <-errC:
		}
	}()
	return exited
}

func containerConfig(w workload) (*container.Config, *container.HostConfig) {
	cfg := &container.Config{
		Image: w.Image,
		Env:   w.Env,
		Labels: map[string]string{
			wharf.LabelManaged:  "true",
			wharf.LabelApp:      w.App,
			wharf.LabelRelease:  strconv.Itoa(w.Release),
			wharf.LabelProcess:  w.Type,
			wharf.LabelInstance: strconv.Itoa(w.Instance),
		},
	}
	if w.Command != "" {
		cfg.Entrypoint = []string{"sh", "-c", w.Command}
	}
	init := true
	pids := w.PidsLimit
	host := &container.HostConfig{
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		LogConfig:     container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m", "max-file": "3"}},
		Init:          &init,
		SecurityOpt:   []string{"no-new-privileges:true"},
		CapDrop:       []string{"ALL"},
		CapAdd:        capabilities,
		Resources:     container.Resources{Memory: w.Memory, NanoCPUs: w.NanoCPUs, PidsLimit: &pids},
	}
	if w.Port > 0 {
		port := nat.Port(strconv.Itoa(w.Port) + "/tcp")
		cfg.ExposedPorts = nat.PortSet{port: {}}
		host.PortBindings = nat.PortMap{port: {{HostIP: "127.0.0.1", HostPort: ""}}}
	}
	for _, v := range w.Volumes {
		host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeVolume, Source: v.Name, Target: v.Path})
	}
	return cfg, host
}

func (e dockerEngine) Start(ctx context.Context, id string) (<-chan int, error) {
	exited := e.wait(ctx, id)
	if err := e.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return nil, fmt.Errorf("starting container %s: %w", id, err)
	}
	return exited, nil
}

func (e dockerEngine) Stop(ctx context.Context, id string) error {
	zero := 0
	if err := e.cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &zero}); err != nil {
		return fmt.Errorf("stopping container %s: %w", id, err)
	}
	return nil
}

func (e dockerEngine) RunOnce(ctx context.Context, w workload, lines int) (int, string, error) {
	if err := e.Remove(ctx, w.name(), 0); err != nil {
		return 0, "", err
	}
	id, exited, err := e.Run(ctx, w)
	if id != "" {
		defer func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = e.Remove(rctx, id, 0)
		}()
	}
	if err != nil {
		return 0, "", err
	}
	select {
	case code := <-exited:
		out, err := e.Logs(ctx, id, lines)
		return code, out, err
	case <-ctx.Done():
		out, _ := e.Logs(context.WithoutCancel(ctx), id, lines)
		return 0, out, fmt.Errorf("waiting for %s: %w", w.name(), ctx.Err())
	}
}

func (e dockerEngine) Inspect(ctx context.Context, id string) (instance, error) {
	c, err := e.cli.ContainerInspect(ctx, id)
	if err != nil {
		return instance{}, fmt.Errorf("inspecting container %s: %w", id, err)
	}
	return instanceOf(c), nil
}

// instanceOf reads a process back from the labels and state of a container.
func instanceOf(c container.InspectResponse) instance {
	var in instance
	in.ContainerID = c.ID
	in.ContainerName = strings.TrimPrefix(c.Name, "/")
	if c.Config != nil {
		l := c.Config.Labels
		in.App = l[wharf.LabelApp]
		in.Release, _ = strconv.Atoi(l[wharf.LabelRelease])
		in.Type = l[wharf.LabelProcess]
		in.Instance, _ = strconv.Atoi(l[wharf.LabelInstance])
	}
	if c.NetworkSettings != nil {
		for _, b := range c.NetworkSettings.Ports {
			if len(b) > 0 && b[0].HostPort != "" {
				in.Addr = net.JoinHostPort("127.0.0.1", b[0].HostPort)
				break
			}
		}
	}
	if s := c.State; s != nil {
		in.Running = s.Running || s.Restarting
		in.ExitCode = s.ExitCode
		in.OOMKilled = s.OOMKilled
		in.FinishedAt, _ = time.Parse(time.RFC3339Nano, s.FinishedAt)
		in.State = string(s.Status)
		if s.Status == container.StateExited || s.Status == container.StateDead {
			in.State = fmt.Sprintf("%s (%d)", s.Status, s.ExitCode)
		}
		in.StartedAt, _ = time.Parse(time.RFC3339Nano, s.StartedAt)
	}
	return in
}

func (e dockerEngine) List(ctx context.Context, app string) ([]instance, error) {
	f := filters.NewArgs(filters.Arg("label", wharf.LabelManaged+"=true"))
	if app != "" {
		f.Add("label", wharf.LabelApp+"="+app)
	}
	if e.installation != "" {
		f.Add("label", wharf.LabelInstallation+"="+e.installation)
	}
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	out := make([]instance, 0, len(list))
	for _, c := range list {
		in, err := e.Inspect(ctx, c.ID)
		if cerrdefs.IsNotFound(err) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

func (e dockerEngine) Rename(ctx context.Context, id, name string) error {
	if err := e.cli.ContainerRename(ctx, id, name); err != nil {
		return fmt.Errorf("renaming container %s to %s: %w", id, name, err)
	}
	return nil
}

func (e dockerEngine) Remove(ctx context.Context, id string, grace time.Duration) error {
	var stopErr error
	if grace > 0 {
		secs := int((grace + time.Second - 1) / time.Second)
		stopErr = e.cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs})
		if cerrdefs.IsNotFound(stopErr) {
			return nil
		}
	}
	err := e.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("removing container %s: %w", id, errors.Join(stopErr, err))
	}
	return nil
}

func (e dockerEngine) Logs(ctx context.Context, id string, n int) (string, error) {
	rc, err := e.cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(n)})
	if err != nil {
		return "", fmt.Errorf("reading logs of container %s: %w", id, err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := stdcopy.StdCopy(&buf, &buf, rc); err != nil {
		return buf.String(), fmt.Errorf("reading logs of container %s: %w", id, err)
	}
	return buf.String(), nil
}
