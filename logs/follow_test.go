package logs

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf"
	"time"
)

func TestParseLine(t *testing.T) {
	l := parseLine("2026-01-02T03:04:05.123456789Z hello <b>world</b>\r")
	if want := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC); !l.Time.Equal(want) || l.Line != "hello <b>world</b>" {
		t.Errorf("parseLine = %v %q", l.Time, l.Line)
	}
	if l := parseLine("no timestamp here"); l.Line != "no timestamp here" || l.Time.IsZero() {
		t.Errorf("a line without a timestamp: %v %q", l.Time, l.Line)
	}
	if l := parseLine("2026-01-02T03:04:05Z bad\x00\xffbytes"); l.Line != "bad\uFFFDbytes" {
		t.Errorf("NUL and invalid UTF-8 kept: %q", l.Line)
	}
	if l := parseLine("2026-01-02T03:04:05Z " + strings.Repeat("x", 2*maxLine)); len(l.Line) != maxLine {
		t.Errorf("a long line kept %d bytes, want %d", len(l.Line), maxLine)
	}
}

func TestSinceArg(t *testing.T) {
	if got := sinceArg(time.Time{}); got != "" {
		t.Errorf("sinceArg(zero) = %q", got)
	}
	// One microsecond after the stored line (Postgres keeps microseconds).
	if got := sinceArg(time.Unix(1700000000, 5000)); got != "1700000000.000006000" {
		t.Errorf("sinceArg = %q", got)
	}
}

func TestInstanceOf(t *testing.T) {
	for want, labels := range map[string]map[string]string{
		"3": {wharf.LabelInstance: "3"},
		"2": {"com.docker.swarm.task.name": "wharf-app-web.2.k2x9"},
		"0": {},
	} {
		if got := instanceOf(labels); got != want {
			t.Errorf("instanceOf(%v) = %q, want %q", labels, got, want)
		}
	}
}
