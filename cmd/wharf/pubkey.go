package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/wharfhq/wharf"
	"golang.org/x/crypto/ssh"
)

// defaultKeyFiles are tried in order under ~/.ssh by keys:add.
var defaultKeyFiles = []string{"id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub"}

// defaultPublicKey returns the first of ~/.ssh/{id_ed25519,id_ecdsa,id_rsa}.pub that exists.
func defaultPublicKey(home string) (string, error) {
	if home == "" {
		return "", errors.New("HOME is not set: pass the public key file, e.g. wharf keys:add ./id_ed25519.pub")
	}
	dir := filepath.Join(home, ".ssh")
	for _, f := range defaultKeyFiles {
		p := filepath.Join(dir, f)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no public key found in %s (looked for %s): pass one, e.g. wharf keys:add ~/.ssh/mykey.pub, or make one with ssh-keygen -t ed25519",
		dir, strings.Join(defaultKeyFiles, ", "))
}

// publicKey is a parsed public key file.
type publicKey struct {
	key     ssh.PublicKey
	comment string
	line    string // authorized_keys line sent to the API
}

// readPublicKey reads and checks one public key from path.
func readPublicKey(path string) (publicKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return publicKey{}, fmt.Errorf("%s does not exist", path)
	}
	if err != nil {
		return publicKey{}, fmt.Errorf("reading the public key: %w", err)
	}
	if bytes.Contains(data, []byte("PRIVATE KEY")) {
		return publicKey{}, fmt.Errorf("%s is a private key: pass the public one (%s.pub), and never share this file", path, path)
	}
	key, comment, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return publicKey{}, fmt.Errorf("%s does not hold an SSH public key (%v)", path, err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	if comment != "" {
		line += " " + comment
	}
	return publicKey{key: key, comment: comment, line: line}, nil
}

// defaultName is the key's comment made into a valid key name, or else
// key-<first 8 hex digits of its SHA-256 fingerprint>.
func (p publicKey) defaultName() string {
	if name := sanitizeKeyName(p.comment); wharf.ValidateKeyName(name) == nil {
		return name
	}
	sum := sha256.Sum256(p.key.Marshal())
	return "key-" + hex.EncodeToString(sum[:])[:8]
}

// sanitizeKeyName replaces runs of characters key names do not allow with
// one dash, trims dashes and dots at the ends and cuts it to 64 bytes.
func sanitizeKeyName(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		ok := r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@-", r))
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.Trim(b.String(), "-._@")
	if len(name) > 64 {
		name = strings.TrimRight(name[:64], "-._@")
	}
	return name
}
