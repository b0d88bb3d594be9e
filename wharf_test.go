package wharf

import (
	"fmt"
	"strings"
	"testing"
)

func TestValidateAppName(t *testing.T) {
	for _, ok := range []string{"a", "hello", "my-app-2", "a" + strings.Repeat("b", 29)} {
		if err := ValidateAppName(ok); err != nil {
			t.Errorf("ValidateAppName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "Hello", "1app", "-app", "a_b", "../x", "a;id", "a b", "a" + strings.Repeat("b", 30)} {
		err := ValidateAppName(bad)
		if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), AppNameRule) {
			t.Errorf("ValidateAppName(%q) = %v, want EINVALID quoting the rule", bad, err)
		}
	}
}

func TestErrorCodeAndMessage(t *testing.T) {
	wrapped := fmt.Errorf("creating app: %w", Errorf(ECONFLICT, "app %q already exists", "x"))
	if ErrorCode(wrapped) != ECONFLICT || ErrorMessage(wrapped) != `app "x" already exists` {
		t.Errorf("got %q %q", ErrorCode(wrapped), ErrorMessage(wrapped))
	}
	plain := fmt.Errorf("dial tcp: refused")
	if ErrorCode(plain) != EINTERNAL || ErrorMessage(plain) != "internal error" {
		t.Errorf("plain error leaked: %q %q", ErrorCode(plain), ErrorMessage(plain))
	}
	if ErrorCode(nil) != "" {
		t.Error("nil error has a code")
	}
}
