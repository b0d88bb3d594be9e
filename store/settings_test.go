package store_test

import (
	"context"
	"testing"
)

func TestEnsureSettingKeepsTheFirstValue(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	first, err := db.EnsureSetting(ctx, "installation_id", "aaa")
	if err != nil || first != "aaa" {
		t.Fatalf("first EnsureSetting = %q, %v", first, err)
	}
	again, err := db.EnsureSetting(ctx, "installation_id", "bbb")
	if err != nil || again != "aaa" {
		t.Fatalf("second EnsureSetting = %q, %v; want the first value kept", again, err)
	}
}
