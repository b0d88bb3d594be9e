package deploy

import (
	"context"
	"slices"
	"testing"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/wharfhq/wharf"
)

func TestCollectGarbageKeepsTheGivenAndUsedImages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	ctx := context.Background()
	app := e.appName(t, "gc")
	label := "LABEL " + wharf.LabelApp + "=" + app + "\n"
	for _, v := range []string{"1", "2", "3", "4"} {
		e.build(t, "wharf/"+app+":v"+v, webApp+label+"LABEL n="+v+"\n")
	}
	e.deploy(t, Spec{App: app, Release: 4, Image: "wharf/" + app + ":v4", Env: map[string]string{"BODY": "v4"}})
	// A rebuilt tag leaves the old image dangling, labelled with the app.
	e.build(t, "wharf/"+app+":v5", webApp+label+"LABEL n=5a\n")
	e.build(t, "wharf/"+app+":v5", webApp+label+"LABEL n=5b\n")
	if n := e.dangling(t, app); n != 1 {
		t.Fatalf("%d dangling images before, want 1", n)
	}

	if err := e.d.CollectGarbage(ctx, app, []string{"wharf/" + app + ":v2", "wharf/" + app + ":v5"}); err != nil {
		t.Fatal(err)
	}

	want := []string{"wharf/" + app + ":v2", "wharf/" + app + ":v4", "wharf/" + app + ":v5"}
	if tags := e.tags(t, app); !slices.Equal(tags, want) {
		t.Errorf("tags after GC = %v, want %v (v4 is in use)", tags, want)
	}
	if n := e.dangling(t, app); n != 0 {
		t.Errorf("%d dangling images after GC", n)
	}
	mustGet(t, e.store.only(t, app).Addr, "v4")
}

func (e *env) tags(t *testing.T, app string) []string {
	t.Helper()
	imgs, err := e.cli.ImageList(context.Background(), image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", "wharf/"+app))})
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, img := range imgs {
		tags = append(tags, img.RepoTags...)
	}
	slices.Sort(tags)
	return tags
}

func (e *env) dangling(t *testing.T, app string) int {
	t.Helper()
	f := filters.NewArgs(filters.Arg("dangling", "true"), filters.Arg("label", wharf.LabelApp+"="+app))
	imgs, err := e.cli.ImageList(context.Background(), image.ListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	return len(imgs)
}
