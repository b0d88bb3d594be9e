package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf"
)

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
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return wharf.Errorf(wharf.EINVALID, "invalid config var name %q", k)
		}
	}
	return nil
}

// workload turns a spec into the web process to run: the port resolved
// and PORT set, which config cannot override.
func (d *Deployer) workload(ctx context.Context, s Spec) (workload, error) {
	port := s.Port
	if port == 0 {
		p, err := d.eng.ImagePort(ctx, s.Image)
		if err != nil {
			return workload{}, wharf.Errorf(wharf.EINVALID, "cannot deploy v%d of %s: %v", s.Release, s.App, err)
		}
		port = p
	}
	if port == 0 {
		port = DefaultPort
	}
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		if k != "PORT" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		env = append(env, k+"="+s.Env[k])
	}
	env = append(env, "PORT="+strconv.Itoa(port))
	return workload{
		App: s.App, Release: s.Release, Type: "web", Instance: 1,
		Image: s.Image, Env: env, Port: port,
		Memory: d.o.Memory, PidsLimit: d.o.PidsLimit,
	}, nil
}

// moveAside frees w's container name for the new container. A stopped
// container of that name is removed; a running one (the same release,
// deployed again) is renamed and keeps serving until the switch retires it.
// It returns the renamed container's id, or "".
func (d *Deployer) moveAside(ctx context.Context, w workload) (string, error) {
	list, err := d.eng.List(ctx, w.App)
	if err != nil {
		return "", err
	}
	for _, in := range list {
		if in.ContainerName != w.name() {
			continue
		}
		if !in.Running {
			return "", d.eng.Remove(ctx, in.ContainerID, 0)
		}
		return in.ContainerID, d.eng.Rename(ctx, in.ContainerID, w.name()+"-"+in.ContainerID[:12])
	}
	return "", nil
}

// putBack gives a container moved aside its name again after a failure.
func (d *Deployer) putBack(ctx context.Context, id, name string) {
	if id == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := d.eng.Rename(ctx, id, name); err != nil {
		d.log.Warn("renaming container back", "container", id, "name", name, "err", err)
	}
}

// start runs w and waits until it answers. On failure the new container
// is gone and the error is an EINVALID *wharf.Error with its last output.
func (d *Deployer) start(ctx context.Context, w workload, out io.Writer) (wharf.Process, error) {
	proc := fmt.Sprintf("%s.%d", w.Type, w.Instance)
	fmt.Fprintf(out, "Starting %s of v%d …\n", proc, w.Release)
	hctx, cancel := context.WithTimeout(ctx, d.o.HealthTimeout)
	defer cancel()
	begin := time.Now()
	id, exited, err := d.eng.Run(hctx, w)
	if err != nil {
		return wharf.Process{}, d.fail(ctx, w, id, out, d.reason(ctx, err, "could not start"))
	}
	in, err := d.eng.Inspect(hctx, id)
	if err == nil && in.Addr == "" {
		err = noAddr(hctx, exited)
	}
	if err != nil {
		return wharf.Process{}, d.fail(ctx, w, id, out, d.reason(ctx, err, "could not start"))
	}
	fmt.Fprintf(out, "Waiting for %s to answer on port %d …\n", proc, w.Port)
	if err := awaitHealthy(hctx, in.Addr, exited); err != nil {
		return wharf.Process{}, d.fail(ctx, w, id, out, d.reason(ctx, err, fmt.Sprintf("did not answer on port %d", w.Port)))
	}
	fmt.Fprintf(out, "Healthy after %.1fs\n", time.Since(begin).Seconds())
	if err := d.eng.Keep(hctx, id); err != nil {
		return wharf.Process{}, d.fail(ctx, w, id, out, d.reason(ctx, err, "could not be kept running"))
	}
	in.State = "running"
	return in.Process, nil
}

// noAddr explains a container without a published port: usually it has
// exited already, and its exit is on the way.
func noAddr(ctx context.Context, exited <-chan int) error {
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case code := <-exited:
		return exitError{code}
	case <-ctx.Done():
	case <-t.C:
	}
	return errors.New("the engine published no port")
}

// reason words why a start failed: an exit, a timeout, a cancelled deploy,
// or what (e.g. "did not answer") followed by the error.
func (d *Deployer) reason(ctx context.Context, err error, what string) string {
	var exit exitError
	switch {
	case errors.As(err, &exit):
		return fmt.Sprintf("exited with code %d before answering", exit.code)
	case ctx.Err() != nil:
		return fmt.Sprintf("%s: the deploy was cancelled (%v)", what, ctx.Err())
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("%s within %s: %v", what, d.o.HealthTimeout, err)
	}
	return fmt.Sprintf("%s: %v", what, err)
}

// fail removes the new container, keeping its last log lines for the error.
func (d *Deployer) fail(ctx context.Context, w workload, id string, out io.Writer, reason string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	logs := ""
	if id != "" {
		var err error
		if logs, err = d.eng.Logs(ctx, id, logLines); err != nil {
			d.log.Warn("reading logs of failed container", "container", id, "err", err)
		}
		fmt.Fprintf(out, "Removing %s.%d of v%d\n", w.Type, w.Instance, w.Release)
		d.remove(ctx, id)
	}
	msg := fmt.Sprintf("deploy of %s v%d failed: %s.%d %s", w.App, w.Release, w.Type, w.Instance, reason)
	if logs = strings.TrimRight(logs, "\n"); logs != "" {
		msg += fmt.Sprintf("\nLast lines of its output:\n%s", logs)
	} else if id != "" {
		msg += "\nIt wrote no output."
	}
	return wharf.Errorf(wharf.EINVALID, "%s", msg)
}
