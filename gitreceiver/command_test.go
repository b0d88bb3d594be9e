package gitreceiver

import (
	"testing"

	"github.com/wharfhq/wharf"
)

func TestParseCommand(t *testing.T) {
	ok := []struct {
		raw          string
		service, app string
	}{
		{"git-receive-pack 'myapp'", receivePack, "myapp"},
		{"git-receive-pack '/myapp.git'", receivePack, "myapp"},
		{`git-upload-pack "myapp.git"`, uploadPack, "myapp"},
		{"git-upload-pack myapp", uploadPack, "myapp"},
		{"git receive-pack 'my-app2'", receivePack, "my-app2"},
		{"git  upload-pack  '/a'", uploadPack, "a"},
	}
	for _, tt := range ok {
		c, err := parseCommand(tt.raw)
		if err != nil || c.service != tt.service || c.app != tt.app {
			t.Errorf("parseCommand(%q) = %+v, %v; want %s %s", tt.raw, c, err, tt.service, tt.app)
		}
	}
	refused := map[string]string{
		"":                               wharf.EFORBIDDEN,
		"ls":                             wharf.EFORBIDDEN,
		"git-receive-pack":               wharf.EFORBIDDEN,
		"git-receive-pack 'a' 'b'":       wharf.EFORBIDDEN,
		"git-receive-pack a;id":          wharf.EFORBIDDEN,
		"git-receive-pack 'a'b":          wharf.EFORBIDDEN,
		"git-receive-pack 'a":            wharf.EFORBIDDEN,
		`git-receive-pack "$(id)"`:       wharf.EFORBIDDEN,
		"git-receive-pack `id`":          wharf.EFORBIDDEN,
		"git receive-pack":               wharf.EFORBIDDEN,
		"git log 'a'":                    wharf.EFORBIDDEN,
		"sh -c 'id'":                     wharf.EFORBIDDEN,
		"git-upload-archive 'a'":         wharf.EFORBIDDEN,
		"git-receive-pack\t'a'":          wharf.EFORBIDDEN,
		"git-receive-pack 'a'\n":         wharf.EFORBIDDEN,
		"git-receive-pack '../x'":        wharf.EINVALID,
		"git-receive-pack 'a;id'":        wharf.EINVALID,
		"git-receive-pack 'Bad_Name'":    wharf.EINVALID,
		"git-receive-pack 'a/b'":         wharf.EINVALID,
		"git-receive-pack '//a'":         wharf.EINVALID,
		"git-receive-pack '.git'":        wharf.EINVALID,
		"git-receive-pack 'a.git.git'":   wharf.EINVALID,
		"git-receive-pack '~alice/a'":    wharf.EINVALID,
		"git-receive-pack 'a b'":         wharf.EINVALID,
		"git-upload-pack '1app'":         wharf.EINVALID,
		"git-upload-pack '" + long + "'": wharf.EINVALID,
	}
	for raw, code := range refused {
		if c, err := parseCommand(raw); wharf.ErrorCode(err) != code {
			t.Errorf("parseCommand(%q) = %+v, %v; want a %s error", raw, c, err, code)
		}
	}
}

const long = "abcdefghijabcdefghijabcdefghijx" // 31 characters
