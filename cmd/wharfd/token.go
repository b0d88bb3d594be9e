package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/wharfhq/wharf/store"
)

// ensureAdminToken makes sure DATA/admin-token exists (created at first start,
// mode 0600, its value printed once) and that its hash is in the database.
// Only the hash is ever stored.
func ensureAdminToken(ctx context.Context, db *store.DB, dataDir string, log *slog.Logger) error {
	path := filepath.Join(dataDir, "admin-token")
	token, err := readToken(path)
	if errors.Is(err, fs.ErrNotExist) {
		token, err = writeNewToken(path)
		if err == nil {
			log.Info("created the admin API token; use it as WHARF_TOKEN (it is also in "+path+")", "token", token)
		}
	}
	if err != nil {
		return err
	}
	if err := db.AddToken(ctx, "admin", "admin", hashToken(token)); err != nil {
		return fmt.Errorf("storing the admin token: %w", err)
	}
	return nil
}

func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("%s is empty: delete it to get a new token", path)
	}
	return t, nil
}

func writeNewToken(path string) (string, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("generating a token: %w", err)
	}
	token := "wharf_" + hex.EncodeToString(buf)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return token, nil
}

// randomID returns 16 random bytes in hex.
func randomID() string {
	buf := make([]byte, 16)
	_, _ = rand.Read(buf) // crypto/rand.Read never fails since Go 1.24
	return hex.EncodeToString(buf)
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
