package main

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf/gitreceiver"
)

func TestDeployRefPicksMainAndStoresOthers(t *testing.T) {
	var out strings.Builder
	ref, err := deployRef([]gitreceiver.RefUpdate{{Old: zeroHash, New: "a", Name: "refs/heads/feature"}, {Old: zeroHash, New: "b", Name: "refs/heads/main"}}, &out)
	if err != nil || ref == nil || ref.New != "b" {
		t.Fatalf("deployRef = %+v, %v", ref, err)
	}
	if !strings.Contains(out.String(), "Stored feature") {
		t.Errorf("output %q should say the branch was stored", out.String())
	}
	if _, err := deployRef([]gitreceiver.RefUpdate{{Old: "b", New: zeroHash, Name: "refs/heads/main"}}, &out); err == nil {
		t.Error("deleting main was accepted")
	}
}
