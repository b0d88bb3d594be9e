package swarmtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// webService is what the backend would make of a web process type: host-mode
// published port picked by the engine, start-first updates rolled back on
// failure, DNS round robin (this kernel has no IPVS for VIPs).
func webService(name, img string, replicas uint64) swarm.ServiceSpec {
	restartDelay, grace := time.Second, 2*time.Second
	update := &swarm.UpdateConfig{
		Parallelism:   1,
		Order:         swarm.UpdateOrderStartFirst,
		FailureAction: swarm.UpdateFailureActionRollback,
		Monitor:       3 * time.Second,
	}
	rollback := *update
	rollback.FailureAction = swarm.UpdateFailureActionPause
	return swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name, Labels: map[string]string{LabelRun: "test"}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: img, StopGracePeriod: &grace},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny, Delay: &restartDelay},
		},
		Mode:           swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
		UpdateConfig:   update,
		RollbackConfig: &rollback,
		EndpointSpec: &swarm.EndpointSpec{
			Mode:  swarm.ResolutionModeDNSRR,
			Ports: []swarm.PortConfig{{Protocol: swarm.PortConfigProtocolTCP, TargetPort: WebPort, PublishMode: swarm.PortConfigPublishModeHost}},
		},
	}
}

// buildWeb builds a WebApp image on the host engine, removed when the test ends.
func buildWeb(t *testing.T, cli client.APIClient, tag, body string, healthy bool) string {
	t.Helper()
	df, files := WebApp(body, healthy)
	if err := BuildImage(context.Background(), cli, tag, df, files); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	return tag
}

var httpClient = &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func get(addr string) (string, error) {
	resp, err := httpClient.Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", addr, resp.Status)
	}
	return strings.TrimSpace(string(b)), err
}

// dialAddr rewrites an endpoint's address for the test to dial; nil keeps
// node.Status.Addr.
type dialAddr func(Endpoint) string

func loopback(e Endpoint) string { return fmt.Sprintf("127.0.0.1:%d", e.Port) }

// waitServing waits until the service has exactly want endpoints that all
// answer body.
func waitServing(t *testing.T, cli client.APIClient, service string, want int, body string, dial dialAddr, timeout time.Duration) []Endpoint {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		eps, err := Endpoints(ctx, cli, service, WebPort)
		if err == nil && len(eps) == want {
			ok := true
			for _, e := range eps {
				got, err := get(dial(e))
				if err != nil || got != body {
					ok, last = false, fmt.Sprintf("%s answered %q, %v", dial(e), got, err)
					break
				}
			}
			if ok {
				return eps
			}
		} else {
			last = fmt.Sprintf("%d endpoints, %v", len(eps), err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("service %s not serving %q from %d tasks after %s: %s", service, body, want, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// prober plays the router: it lists the service's endpoints and GETs every
// one of them, round after round, until stopped.
type prober struct {
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	rounds int
	// dark counts rounds in which no endpoint answered: an outage.
	dark     int
	requests int
	failed   []string
	bodies   map[string]int
}

func startProber(cli client.APIClient, service string, dial dialAddr) *prober {
	p := &prober{stop: make(chan struct{}), done: make(chan struct{}), bodies: map[string]int{}}
	go func() {
		defer close(p.done)
		for {
			select {
			case <-p.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			p.round(cli, service, dial)
		}
	}()
	return p
}

func (p *prober) round(cli client.APIClient, service string, dial dialAddr) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	eps, err := Endpoints(ctx, cli, service, WebPort)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rounds++
	answered := 0
	if err != nil {
		p.failed = append(p.failed, "listing: "+err.Error())
	}
	for _, e := range eps {
		p.mu.Unlock()
		body, err := get(dial(e))
		p.mu.Lock()
		p.requests++
		if err != nil {
			p.failed = append(p.failed, fmt.Sprintf("%s %s: %v", time.Now().Format("15:04:05.000"), e.Task[:8], err))
			continue
		}
		answered++
		p.bodies[body]++
	}
	if answered == 0 {
		p.dark++
	}
}

func (p *prober) finish() *prober {
	close(p.stop)
	<-p.done
	return p
}

func (p *prober) String() string {
	return fmt.Sprintf("%d rounds, %d without any answer, %d requests, %d failed, bodies %v", p.rounds, p.dark, p.requests, len(p.failed), p.bodies)
}

// update swaps the service's image and waits until the update settles,
// returning its final state.
func update(t *testing.T, cli client.APIClient, service, img string, timeout time.Duration) swarm.UpdateState {
	t.Helper()
	ctx := context.Background()
	svc, _, err := cli.ServiceInspectWithRaw(ctx, service, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := svc.Spec
	spec.TaskTemplate.ContainerSpec.Image = img
	if _, err := cli.ServiceUpdate(ctx, service, svc.Version, spec, swarm.ServiceUpdateOptions{}); err != nil {
		t.Fatalf("updating %s to %s: %v", service, img, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		svc, _, err := cli.ServiceInspectWithRaw(ctx, service, swarm.ServiceInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if st := svc.UpdateStatus; st != nil {
			switch st.State {
			case swarm.UpdateStateCompleted, swarm.UpdateStateRollbackCompleted, swarm.UpdateStatePaused, swarm.UpdateStateRollbackPaused:
				t.Logf("update to %s: %s (%s)", img, st.State, st.Message)
				return st.State
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("update of %s to %s not settled after %s: %+v", service, img, timeout, svc.UpdateStatus)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func filtersFor(service string) filters.Args { return filters.NewArgs(filters.Arg("service", service)) }
