// Package migrations owns Wharf's database schema: goose-format SQL files,
// embedded so the daemon carries its schema with it. The store package
// applies them at start.
package migrations

import "embed"

// FS holds the migration files, named NNNNN_description.sql.
//
//go:embed *.sql
var FS embed.FS
