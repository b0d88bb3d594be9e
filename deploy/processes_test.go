package deploy

import (
	"context"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
)

func TestProcessesReportsTheLiveState(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	app := e.appName(t, "ps")
	v1 := deployV1(t, e, app)

	ps, err := e.d.Processes(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0] != v1 || ps[0].State != "running" || ps[0].StartedAt.IsZero() {
		t.Fatalf("processes = %+v, want the running %+v", ps, v1)
	}

	if err := e.cli.ContainerStop(ctx, v1.ContainerID, container.StopOptions{}); err != nil {
		t.Fatal(err)
	}
	ps, err = e.d.Processes(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || !strings.HasPrefix(ps[0].State, "exited (") {
		t.Errorf("processes after a stop = %+v, want one exited", ps)
	}

	if ps, err := e.d.Processes(ctx, e.appName(t, "none")); err != nil || len(ps) != 0 {
		t.Errorf("processes of an app without containers = %v, %v", ps, err)
	}
}

func TestDestroyRemovesContainersAndImages(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	app := e.appName(t, "destroy")
	v1 := deployV1(t, e, app)
	e.build(t, "wharf/"+app+":v2", webApp)
	other := e.appName(t, "bystander")
	bystander := deployV1(t, e, other)

	if err := e.d.Destroy(ctx, app); err != nil {
		t.Fatal(err)
	}

	if ids := e.containers(t, app); len(ids) != 0 {
		t.Errorf("containers left: %v", ids)
	}
	if _, err := get(v1.Addr); err == nil {
		t.Error("the destroyed app still answers")
	}
	imgs, err := e.cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", "wharf/"+app))})
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 0 {
		t.Errorf("images left: %+v", imgs)
	}
	mustGet(t, bystander.Addr, "v1")
	if _, err := e.cli.ImageInspect(ctx, "wharf/"+other+":v1"); err != nil {
		t.Errorf("another app's image went too: %v", err)
	}
}
