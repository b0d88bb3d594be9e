package webtest

import (
	"context"
	"slices"

	"github.com/wharfhq/wharf"
)

// AddBuild records a build of app for the fake's build listing (issue 5).
func (f *Fake) AddBuild(b wharf.Build) wharf.Build {
	f.mu.Lock()
	defer f.mu.Unlock()
	b.ID = int64(len(f.builds) + 1)
	f.builds = append(f.builds, b)
	return b
}

// Builds implements web.Service.
func (f *Fake) Builds(_ context.Context, app string) ([]wharf.Build, error) {
	if err := f.hook("Builds"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return nil, wharf.Errorf(wharf.ENOTFOUND, "app %q not found", app)
	}
	var out []wharf.Build
	for _, b := range slices.Backward(f.builds) {
		if b.App == app {
			b.Output = ""
			out = append(out, b)
		}
	}
	return out, nil
}

// Build implements web.Service; id 0 is the newest.
func (f *Fake) Build(_ context.Context, app string, id int64) (wharf.Build, error) {
	if err := f.hook("Build"); err != nil {
		return wharf.Build{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return wharf.Build{}, wharf.Errorf(wharf.ENOTFOUND, "app %q not found", app)
	}
	for _, b := range slices.Backward(f.builds) {
		if b.App == app && (id == 0 || b.ID == id) {
			return b, nil
		}
	}
	if id == 0 {
		return wharf.Build{}, wharf.Errorf(wharf.ENOTFOUND, "%s has no builds yet", app)
	}
	return wharf.Build{}, wharf.Errorf(wharf.ENOTFOUND, "build %d of %s not found", id, app)
}

// PurgeBuildCache implements web.Service; it counts purges per app.
func (f *Fake) PurgeBuildCache(_ context.Context, _, app string) error {
	if err := f.hook("PurgeBuildCache"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return wharf.Errorf(wharf.ENOTFOUND, "app %q not found", app)
	}
	if f.cachePurges == nil {
		f.cachePurges = map[string]int{}
	}
	f.cachePurges[app]++
	return nil
}

// CachePurges says how often app's build cache was purged.
func (f *Fake) CachePurges(app string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cachePurges[app]
}
