package wharf

import (
	"strings"
	"testing"
	"time"
)

func TestParseRouterChange(t *testing.T) {
	c, err := ParseRouterChange(map[string]string{"body-limit": "50m", "timeout": "90s"})
	if err != nil || c.BodyLimit == nil || *c.BodyLimit != 50<<20 || c.Timeout == nil || *c.Timeout != 90*time.Second {
		t.Fatalf("ParseRouterChange = %+v, %v", c, err)
	}
	s := RouterSettings{BodyLimit: 1 << 20, Timeout: time.Minute}.Apply(c)
	if s != (RouterSettings{BodyLimit: 50 << 20, Timeout: 90 * time.Second}) {
		t.Errorf("Apply = %+v", s)
	}
	reset, err := ParseRouterChange(map[string]string{"body-limit": ""})
	if err != nil || reset.Timeout != nil || reset.BodyLimit == nil || *reset.BodyLimit != 0 {
		t.Fatalf("reset = %+v, %v", reset, err)
	}
	if s := s.Apply(reset); s != (RouterSettings{Timeout: 90 * time.Second}) {
		t.Errorf("after the reset %+v, want only the timeout left", s)
	}
	for size, want := range map[string]int64{"1k": 1 << 10, "512K": 512 << 10, "50m": 50 << 20, "1.5g": 3 << 29, "2GB": 2 << 30, "4096": 4096, "64g": 64 << 30} {
		if c, err := ParseRouterChange(map[string]string{"body-limit": size}); err != nil || *c.BodyLimit != want {
			t.Errorf("body-limit=%s: %v, %v; want %d", size, c.BodyLimit, err, want)
		}
	}
	for set, wantMsg := range map[string]string{
		"body-limit=lots":  `invalid body-limit "lots": want a size such as 512k, 50m or 1g`,
		"body-limit=1000":  `invalid body-limit "1000"`,
		"body-limit=65g":   "from 1k to 64g",
		"body-limit=-5m":   `invalid body-limit "-5m"`,
		"timeout=90":       `invalid timeout "90": want a duration such as 30s, 90s or 5m, from 1s to 1h`,
		"timeout=500ms":    `invalid timeout "500ms"`,
		"timeout=2h":       `invalid timeout "2h"`,
		"client-max-body=": `unknown router setting "client-max-body": the settings are body-limit (a size such as 50m) and timeout (a duration such as 90s)`,
	} {
		k, v, _ := strings.Cut(set, "=")
		_, err := ParseRouterChange(map[string]string{k: v})
		if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("%s: %v, want EINVALID with %q", set, err, wantMsg)
		}
	}
	if _, err := ParseRouterChange(nil); ErrorCode(err) != EINVALID {
		t.Errorf("no settings: %v, want EINVALID", err)
	}
}

func TestFormatSizeAndTimeout(t *testing.T) {
	for n, want := range map[int64]string{50 << 20: "50m", 100 << 20: "100m", 2 << 30: "2g", 1536: "1536", 3 << 29: "1536m", 4 << 10: "4k", 1000: "1000"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{90 * time.Second: "90s", time.Hour: "3600s", 1500 * time.Millisecond: "1.5s"} {
		if got := FormatTimeout(d); got != want {
			t.Errorf("FormatTimeout(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestParseMemory(t *testing.T) {
	for s, want := range map[string]int64{"256m": 256 << 20, "1g": 1 << 30, "1.5G": 3 << 29, "512MB": 512 << 20} {
		if n, err := ParseMemory(s); err != nil || n != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", s, n, err, want)
		}
	}
	for _, bad := range []string{"1m", "65g", "lots", "-1g", "NaNm"} {
		if _, err := ParseMemory(bad); ErrorCode(err) != EINVALID {
			t.Errorf("ParseMemory(%q) = %v, want EINVALID", bad, err)
		}
	}
}
