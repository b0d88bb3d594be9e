package main

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/go-units"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/builder"
)

// Builds implements web.BuildService: the app's builds, newest first,
// without their output.
func (p *platform) Builds(ctx context.Context, app string) ([]wharf.Build, error) {
	builds, err := p.db.ListBuilds(ctx, app)
	if err != nil {
		return nil, err
	}
	for i := range builds {
		builds[i].Output = ""
	}
	return builds, nil
}

// Build implements web.BuildService.
func (p *platform) Build(ctx context.Context, app string, id int64) (wharf.Build, error) {
	return p.db.GetBuild(ctx, app, id)
}

// PurgeBuildCache implements web.BuildService: it deletes the app's cache
// volume under the app's lock, so no build is using it.
func (p *platform) PurgeBuildCache(ctx context.Context, user, app string) error {
	if _, err := p.db.GetApp(ctx, app); err != nil {
		return err
	}
	unlock := p.locks.lock(app)
	defer unlock()
	if err := p.builder.PurgeCache(ctx, app); err != nil {
		return err
	}
	p.event(ctx, app, user, "build.cache.purge", "purged the build cache")
	return nil
}

// builderOptions are the builder's defaults from the daemon's environment:
// WHARF_BUILD_TIMEOUT (e.g. 15m), WHARF_BUILD_MEMORY (e.g. 2g), GOPROXY.
// An app's config BUILD_TIMEOUT / BUILD_MEMORY override them per build.
func builderOptions(getenv func(string) string) ([]builder.Option, error) {
	var l builder.Limits
	if v := getenv("WHARF_BUILD_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("WHARF_BUILD_TIMEOUT=%q: want a duration such as 15m", v)
		}
		l.Timeout = d
	}
	if v := getenv("WHARF_BUILD_MEMORY"); v != "" {
		n, err := units.RAMInBytes(v)
		if err != nil || n < 64<<20 {
			return nil, fmt.Errorf("WHARF_BUILD_MEMORY=%q: want a size of at least 64m, such as 2g", v)
		}
		l.Memory = n
	}
	opts := []builder.Option{builder.WithLimits(l)}
	if v := getenv("GOPROXY"); v != "" {
		opts = append(opts, builder.WithGoProxy(v))
	}
	return opts, nil
}
