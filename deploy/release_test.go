package deploy

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/wharfhq/wharf"
)

// volumeApp serves what the release phase wrote to /data/released, then a
// line per start appended to /data/starts.
const volumeApp = `echo start >> /data/starts; cat /data/released /data/starts > /www/index.html; exec httpd -f -p $PORT -h /www`

func TestReleasePhaseAndVolumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	ctx := context.Background()
	app := e.appName(t, "relvol")
	img := e.build(t, "wharf/"+app+":v1", webApp)
	s := Spec{App: app, Release: 1, Image: img, Env: map[string]string{"BODY": "v1"},
		Processes:      map[string]ProcessSpec{"web": {Command: volumeApp, Quantity: 1}},
		Volumes:        []Volume{{Name: "data", Path: "/data"}},
		ReleaseCommand: `echo "released $BODY" > /data/released`}

	out := e.deploy(t, s)
	if !strings.Contains(out, "Running release command") {
		t.Errorf("output:\n%s", out)
	}
	mustGet(t, e.store.only(t, app).Addr, "released v1\nstart")

	s.Release, s.Env = 2, map[string]string{"BODY": "v2"}
	e.deploy(t, s)
	mustGet(t, e.store.only(t, app).Addr, "released v2\nstart\nstart")
	if ids := e.containers(t, app); len(ids) != 1 {
		t.Errorf("%d containers after the deploy, want 1 (the release container must go)", len(ids))
	}

	vols, err := e.cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", wharf.LabelApp+"="+app))})
	if err != nil || len(vols.Volumes) != 1 || vols.Volumes[0].Name != "wharf-"+app+"-data" ||
		vols.Volumes[0].Labels[wharf.LabelInstallation] != e.d.o.Installation {
		t.Fatalf("volumes %+v, %v", vols.Volumes, err)
	}
	if err := e.d.RemoveVolumes(ctx, app, []string{"data"}); err == nil {
		t.Error("removed a volume in use")
	}
	if err := e.d.Destroy(ctx, app); err != nil {
		t.Fatal(err)
	}
	if err := e.d.RemoveVolumes(ctx, app, []string{"data"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cli.VolumeInspect(ctx, "wharf-"+app+"-data"); err == nil {
		t.Error("the volume is still there")
	}
}

func TestFailingReleasePhaseKeepsTheRunningRelease(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	app := e.appName(t, "relfail")
	v1 := deployV1(t, e, app)

	s := Spec{App: app, Release: 2, Image: "wharf/" + app + ":v1", Env: map[string]string{"BODY": "v2"},
		ReleaseCommand: `echo "migrating $BODY"; echo "fatal: relation users does not exist" >&2; exit 3`}
	_, err := failDeploy(t, e, s, v1)
	msg := err.Error()
	for _, want := range []string{"release command exited with code 3", "migrating v2", "fatal: relation users does not exist"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	var out bytes.Buffer
	if err := e.d.Deploy(context.Background(), Spec{App: app, Release: 2, Image: v1.App, ReleaseCommand: "true"}, &out); err == nil {
		t.Error("deployed an image that does not exist")
	}
}
