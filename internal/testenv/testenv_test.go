package testenv

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
)

// The image must run busybox applets: a shell and httpd are what test apps use.
func TestBusyboxImageRuns(t *testing.T) {
	cli := Docker(t)
	tag := Busybox(t)
	ctx := context.Background()
	c, err := cli.ContainerCreate(ctx, &container.Config{Image: tag, Cmd: []string{"sh", "-c", "echo hello from $(uname -s); which httpd"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	statusCh, errCh := cli.ContainerWait(ctx, c.ID, container.WaitConditionNotRunning)
	select {
	case err := <-errCh:
		t.Fatal(err)
	case st := <-statusCh:
		if st.StatusCode != 0 {
			t.Fatalf("exit %d", st.StatusCode)
		}
	}
	rc, err := cli.ContainerLogs(ctx, c.ID, container.LogsOptions{ShowStdout: true})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	if !strings.Contains(string(b), "hello from Linux") || !strings.Contains(string(b), "httpd") {
		t.Fatalf("unexpected output %q", b)
	}
}
