package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wharfhq/wharf"
)

// freeNames frees the container names of the workloads about to start. A
// stopped container holding one is removed; a running one (the same
// release, deployed or restarted again) is renamed and keeps serving until
// the switch retires it. It returns the renamed containers (id → name) and
// the ids removed.
func (d *Deployer) freeNames(ctx context.Context, ws []workload, list []instance) (map[string]string, map[string]bool, error) {
	aside, removed := map[string]string{}, map[string]bool{}
	names := map[string]bool{}
	for _, w := range ws {
		names[w.name()] = true
	}
	for _, in := range list {
		if !names[in.ContainerName] {
			continue
		}
		if !in.Running {
			if err := d.eng.Remove(ctx, in.ContainerID, 0); err != nil {
				return aside, removed, err
			}
			removed[in.ContainerID] = true
			continue
		}
		if err := d.eng.Rename(ctx, in.ContainerID, in.ContainerName+"-"+in.ContainerID[:12]); err != nil {
			return aside, removed, err
		}
		aside[in.ContainerID] = in.ContainerName
	}
	return aside, removed, nil
}

// putBack gives containers moved aside their names again after a failure.
func (d *Deployer) putBack(ctx context.Context, aside map[string]string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for id, name := range aside {
		if err := d.eng.Rename(ctx, id, name); err != nil {
			d.log.Warn("renaming container back", "container", id, "name", name, "err", err)
		}
	}
}

// start runs w and waits until it is ready: a web process answers its
// health check, another one is still running after Settle. On failure the
// new container is gone and the error is an EINVALID *wharf.Error with its
// last output.
func (d *Deployer) start(ctx context.Context, w workload, out io.Writer) (wharf.Process, error) {
	fmt.Fprintf(out, "Starting %s.%d of v%d …\n", w.Type, w.Instance, w.Release)
	begin := time.Now()
	wctx, stopWaiting := context.WithCancel(ctx) // ends the engine's wait for an exit
	defer stopWaiting()
	id, exited, err := d.eng.Run(wctx, w)
	if err != nil {
		return wharf.Process{}, d.fail(ctx, w, id, out, d.reason(ctx, err, "could not start", 0))
	}
	in, err := d.ready(ctx, w, id, exited, out)
	if err != nil {
		return wharf.Process{}, d.fail(ctx, w, id, out, err.Error())
	}
	if w.Port > 0 {
		fmt.Fprintf(out, "%s.%d healthy after %.1fs\n", w.Type, w.Instance, time.Since(begin).Seconds())
	}
	return in.Process, nil
}

// ready waits until the started container id of w is ready, and returns it
// as it runs. Its error is the reason, worded for a user.
func (d *Deployer) ready(ctx context.Context, w workload, id string, exited <-chan int, out io.Writer) (instance, error) {
	if w.Port == 0 {
		if err := d.settle(ctx, exited); err != nil {
			return instance{}, errors.New(d.reason(ctx, err, "did not keep running", 0))
		}
		in, err := d.eng.Inspect(ctx, id)
		if err == nil && !in.Running {
			err = exitError{in.ExitCode}
		}
		if err != nil {
			return instance{}, errors.New(d.reason(ctx, err, "did not keep running", 0))
		}
		in.State = stateRunning
		return in, nil
	}
	hctx, cancel := context.WithTimeout(ctx, w.Health.Timeout)
	defer cancel()
	in, err := d.eng.Inspect(hctx, id)
	if err == nil && in.Addr == "" {
		err = noAddr(hctx, exited)
	}
	if err != nil {
		return instance{}, errors.New(d.reason(ctx, err, "could not start", 0))
	}
	fmt.Fprintf(out, "Waiting for %s.%d to answer on port %d …\n", w.Type, w.Instance, w.Port)
	if err := awaitHealthy(hctx, in.Addr, w.Health, exited); err != nil {
		what := fmt.Sprintf("did not answer GET %s on port %d", w.Health.Path, w.Port)
		return instance{}, errors.New(d.reason(ctx, err, what, w.Health.Timeout))
	}
	in.State = stateRunning
	return in, nil
}

// settle waits Settle and fails if the process exits meanwhile.
func (d *Deployer) settle(ctx context.Context, exited <-chan int) error {
	t := time.NewTimer(d.o.Settle)
	defer t.Stop()
	select {
	case code := <-exited:
		return exitError{code}
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
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
func (d *Deployer) reason(ctx context.Context, err error, what string, timeout time.Duration) string {
	var exit exitError
	switch {
	case errors.As(err, &exit):
		return fmt.Sprintf("exited with code %d", exit.code)
	case ctx.Err() != nil:
		return fmt.Sprintf("%s: the deploy was cancelled (%v)", what, ctx.Err())
	case errors.Is(err, context.DeadlineExceeded) && timeout > 0:
		return fmt.Sprintf("%s within %s: %v", what, timeout, err)
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
	msg := fmt.Sprintf("%s.%d %s", w.Type, w.Instance, reason)
	return wharf.Errorf(wharf.EINVALID, "%s", withLogs(msg, logs, id != ""))
}

// withLogs appends a container's last output to msg.
func withLogs(msg, logs string, ran bool) string {
	if logs = strings.TrimRight(logs, "\n"); logs != "" {
		return msg + "\nLast lines of its output:\n" + logs
	}
	if ran {
		return msg + "\nIt wrote no output."
	}
	return msg
}
