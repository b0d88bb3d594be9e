package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf"
)

// TestSSHRefusals: unknown keys, commands other than git's, and bad app
// names get one clear line and exit status 1; nothing is created.
func TestSSHRefusals(t *testing.T) {
	d := newDaemon(t)
	d.start(t)
	p := newPusher(t, d.sshAddr)
	if out, err := d.cli(t, "keys:add", p.key+".pub"); err != nil {
		t.Fatalf("keys:add: %v\n%s", err, out)
	}

	t.Run("unknown key", func(t *testing.T) {
		stranger := filepath.Join(t.TempDir(), "stranger")
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", stranger).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
		out, code := p.ssh(t, d.sshAddr, stranger, "git-receive-pack 'hello'")
		if code == 0 || !strings.Contains(out, "Permission denied (publickey)") {
			t.Errorf("unknown key: exit %d\n%s", code, out)
		}
	})

	for _, command := range []string{"", "ls", "git-receive-pack '../x'", "git-receive-pack 'a;id'", "sh -c id", "git-upload-archive 'hello'"} {
		t.Run("command "+command, func(t *testing.T) {
			out, code := p.ssh(t, d.sshAddr, p.key, command)
			if code != 1 || strings.Count(strings.TrimSpace(out), "\n") != 0 || out == "" {
				t.Errorf("command %q: exit %d, want 1 with one line; got:\n%s", command, code, out)
			}
		})
	}

	t.Run("bad app name quotes the rule", func(t *testing.T) {
		out, code := p.ssh(t, d.sshAddr, p.key, "git-receive-pack 'Bad_Name.git'")
		if code != 1 || !strings.Contains(out, wharf.AppNameRule) {
			t.Errorf("bad name: exit %d\n%s", code, out)
		}
		out, err := d.cli(t, "apps:create", "Bad_Name")
		if err == nil || !strings.Contains(out, wharf.AppNameRule) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Errorf("apps:create Bad_Name: %v\n%s", err, out)
		}
	})

	t.Run("nothing was created", func(t *testing.T) {
		out, err := d.cli(t, "apps", "--json")
		if err != nil || strings.Contains(out, "\"name\"") {
			t.Errorf("apps after refusals: %v\n%s", err, out)
		}
	})

	t.Run("push without a Dockerfile says what Wharf looked for", func(t *testing.T) {
		p.git(t, "remote", "add", "wharf", "ssh://git@"+d.sshAddr+"/plain.git")
		p.commit(t, "plain", map[string]string{"README": "no Dockerfile here\n"})
		out, err := p.gitErr("push", "wharf", "main")
		if err == nil || !strings.Contains(out, "[remote rejected]") || !strings.Contains(out, "Dockerfile") {
			t.Errorf("push without Dockerfile: %v\n%s", err, out)
		}
	})
}
