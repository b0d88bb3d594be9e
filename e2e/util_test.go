package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// uniqueApp returns an app name no other test run on this Docker Engine uses.
func uniqueApp(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func getAddr(addr string) (int, string, error) {
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// getDirect asks a container on its published loopback port, bypassing Wharf.
func (d *daemon) getDirect(c container.Summary) (int, string, error) {
	for _, p := range c.Ports {
		if p.PublicPort != 0 {
			return getAddr(p.IP + ":" + strconv.Itoa(int(p.PublicPort)))
		}
	}
	return 0, "", os.ErrNotExist
}

func startedAt(t *testing.T, docker *client.Client, id string) string {
	t.Helper()
	info, err := docker.ContainerInspect(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.StartedAt
}

// removeAppContainers cleans up what a test's app left behind.
// removeApps removes the containers and images the named apps left behind.
func removeApps(apps []string) {
	if len(apps) == 0 {
		return
	}
	docker, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return
	}
	defer docker.Close()
	ctx := context.Background()
	for _, app := range apps {
		removeAppContainers(docker, app)
		imgs, _ := docker.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", "wharf/"+app))})
		for _, img := range imgs {
			for _, tag := range img.RepoTags {
				if strings.HasPrefix(tag, "wharf/"+app+":") {
					docker.ImageRemove(ctx, tag, image.RemoveOptions{PruneChildren: true})
				}
			}
		}
	}
}

func removeAppContainers(docker *client.Client, app string) {
	ctx := context.Background()
	cs, _ := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "wharf.app="+app))})
	for _, c := range cs {
		docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	}
}

// portOf is the port of a host:port address.
func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// deployApp pushes files as app to d from a new developer machine, failing
// the test when the push does not deploy.
func deployApp(t *testing.T, d *daemon, app string, files map[string]string) {
	t.Helper()
	p := newPusher(t, d.sshAddr)
	if out, err := d.cli(t, "keys:add", p.key+".pub"); err != nil {
		t.Fatalf("keys:add: %v\n%s", err, out)
	}
	p.git(t, "remote", "add", "wharf", "ssh://git@"+d.sshAddr+"/"+app+".git")
	p.commit(t, "deploy "+app, files)
	if out, err := p.gitErr("push", "wharf", "main"); err != nil {
		t.Fatalf("git push of %s: %v\n%s", app, err, out)
	}
}
