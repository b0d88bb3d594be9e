package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/web"
)

// errNoSwarm answers the node routes when apps run on one engine.
var errNoSwarm = wharf.Errorf(wharf.EINVALID, "nodes need a swarm: start wharfd with `wharfd serve --scheduler swarm` (this daemon runs apps on its one Docker Engine, --scheduler docker)")

// drainTimeout bounds a drain, which goes on when its client goes away: a
// node left paused halfway helps nobody.
const drainTimeout = 30 * time.Minute

// Nodes implements web.NodeService.
func (p *platform) Nodes(ctx context.Context) ([]wharf.Node, error) {
	if p.nodes == nil {
		return nil, errNoSwarm
	}
	return p.nodes.Nodes(ctx)
}

// DrainNode implements web.NodeService: the scheduler's zero-failure
// drain, run to its end even when the client hangs up.
func (p *platform) DrainNode(ctx context.Context, user, node string) (web.NodeAction, error) {
	if p.nodes == nil {
		return web.NodeAction{}, errNoSwarm
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
	defer cancel()
	out := &progress{log: p.log.With("node", node)}
	if err := p.nodes.DrainNode(ctx, node, out); err != nil {
		if len(out.lines()) > 0 { // it had begun: the node may be left paused
			p.event(ctx, "", user, "node.drain", fmt.Sprintf("draining node %s failed: %s", node, wharf.ErrorMessage(err)))
		}
		return web.NodeAction{}, err
	}
	p.event(ctx, "", user, "node.drain", "drained node "+node)
	return web.NodeAction{Node: node, Output: out.lines()}, nil
}

// ActivateNode implements web.NodeService.
func (p *platform) ActivateNode(ctx context.Context, user, node string) (web.NodeAction, error) {
	if p.nodes == nil {
		return web.NodeAction{}, errNoSwarm
	}
	if err := p.nodes.ActivateNode(ctx, node); err != nil {
		return web.NodeAction{}, err
	}
	p.event(ctx, "", user, "node.activate", "activated node "+node)
	return web.NodeAction{Node: node, Output: []string{
		"Node " + node + " active: new tasks may be scheduled there",
		"Running tasks stay where they are; deploys, restarts and scaling spread them again",
	}}, nil
}

// progress collects a scheduler's progress lines for an API answer and
// logs each one.
type progress struct {
	log *slog.Logger
	mu  sync.Mutex
	buf bytes.Buffer
	all []string
}

func (o *progress) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(b)
	for {
		line, err := o.buf.ReadString('\n')
		if err != nil { // no newline yet: keep it for the next write
			o.buf.WriteString(line)
			return len(b), nil
		}
		line = strings.TrimRight(line, "\r\n")
		o.all = append(o.all, line)
		o.log.Info(line)
	}
}

// lines returns the lines so far, with a last unfinished one.
func (o *progress) lines() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := append([]string(nil), o.all...)
	if rest := strings.TrimSpace(o.buf.String()); rest != "" {
		out = append(out, rest)
	}
	return out
}
