package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/store"
)

// ensureAdminUser creates the user "admin" at first start, with a random
// password printed once and written to DATA/admin-password (0600). The
// admin API token belongs to this user.
func ensureAdminUser(ctx context.Context, db *store.DB, dataDir string, log *slog.Logger) error {
	_, err := db.GetUser(ctx, "admin")
	if wharf.ErrorCode(err) != wharf.ENOTFOUND {
		return err
	}
	path := filepath.Join(dataDir, "admin-password")
	password, err := readToken(path)
	if errors.Is(err, fs.ErrNotExist) {
		password = randomID()[:20]
		err = writeSecret(path, password)
	}
	if err != nil {
		return err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	if _, err := db.CreateUser(ctx, "admin", store.RoleAdmin, hash, true); err != nil {
		return fmt.Errorf("creating the admin user: %w", err)
	}
	log.Info("created the dashboard user admin; its password is in "+path, "password", password)
	return nil
}

// writeSecret writes value to path (0600) through a temporary file.
func writeSecret(path, value string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(value+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
