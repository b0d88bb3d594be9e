package main

import (
	"context"
	"strings"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/web"
)

// RouterSettings returns app's body limit and timeout with the router's defaults.
func (p *platform) RouterSettings(ctx context.Context, app string) (web.RouterSettings, error) {
	s, err := p.db.RouterSettings(ctx, app)
	if err != nil {
		return web.RouterSettings{}, err
	}
	return web.NewRouterSettings(app, s, p.routerDefaults()), nil
}

// SetRouterSettings applies `wharf router:set` settings. The apps row's
// trigger notifies every router node, which reloads its table.
func (p *platform) SetRouterSettings(ctx context.Context, user, app string, set map[string]string) (web.RouterSettings, error) {
	c, err := wharf.ParseRouterChange(set)
	if err != nil {
		return web.RouterSettings{}, err
	}
	s, err := p.db.ChangeRouterSettings(ctx, app, c)
	if err != nil {
		return web.RouterSettings{}, err
	}
	p.event(ctx, app, user, "router.set", "set router "+describeRouterChange(c))
	return web.NewRouterSettings(app, s, p.routerDefaults()), nil
}

// routerDefaults are this node's router's: every node runs with the same.
func (p *platform) routerDefaults() wharf.RouterSettings {
	maxBody, timeout := p.router.Defaults()
	return wharf.RouterSettings{BodyLimit: maxBody, Timeout: timeout}
}

// describeRouterChange is the activity line's "body-limit=50m timeout=default".
func describeRouterChange(c wharf.RouterChange) string {
	var parts []string
	if c.BodyLimit != nil {
		v := "default"
		if *c.BodyLimit != 0 {
			v = wharf.FormatSize(*c.BodyLimit)
		}
		parts = append(parts, wharf.RouterBodyLimit+"="+v)
	}
	if c.Timeout != nil {
		v := "default"
		if *c.Timeout != 0 {
			v = wharf.FormatTimeout(*c.Timeout)
		}
		parts = append(parts, wharf.RouterTimeout+"="+v)
	}
	return strings.Join(parts, " ")
}
