package deploy

import (
	"testing"
	"time"

	"github.com/wharfhq/wharf"
)

func TestBackoffDoublesUpToTheMaximum(t *testing.T) {
	d := New(Options{BackoffBase: time.Second, BackoffMax: 10 * time.Second})
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		if got := d.backoff(i + 1); got != w {
			t.Errorf("backoff after %d crashes = %s, want %s", i+1, got, w)
		}
	}
	if got := New(Options{}).backoff(100); got != time.Minute {
		t.Errorf("default maximum = %s", got)
	}
}

func TestCrashesMarkAProcessCrashedWithinTheWindow(t *testing.T) {
	d := New(Options{BackoffBase: time.Second, CrashLimit: 3, CrashWindow: time.Minute})
	st := &slotState{release: 1}
	now := time.Now()
	exit := func(at time.Time, code int, oom bool) {
		d.crash(st, instance{Process: wharf.Process{ExitCode: code, OOMKilled: oom}, FinishedAt: at}, "line 1\nline 2\n", at)
	}
	exit(now, 1, false)
	exit(now.Add(10*time.Second), 1, false)
	if st.crashed || st.streak != 2 || !st.nextTry.Equal(now.Add(12*time.Second)) {
		t.Fatalf("after 2 crashes: %+v", st)
	}
	// A crash more than the window after the first ones does not add up.
	exit(now.Add(2*time.Minute), 137, true)
	if st.crashed {
		t.Errorf("crashed with only 1 crash in the window: %+v", st)
	}
	exit(now.Add(2*time.Minute+time.Second), 137, true)
	exit(now.Add(2*time.Minute+2*time.Second), 137, true)
	if !st.crashed || st.exitCode != 137 || !st.oom || st.lastLog != "line 1\nline 2" {
		t.Errorf("after 3 crashes in the window: %+v", st)
	}

	p := wharf.Process{App: "a", Type: "web", Instance: 1, Release: 1, State: "exited (137)"}
	d.book.slots = map[slot]*slotState{{"a", "web", 1}: st}
	st.seenExit, st.restarts = now, 4
	d.describe(&p, false)
	if p.State != "crashed" || p.Restarts != 4 || p.ExitCode != 137 || !p.OOMKilled || p.LastLog == "" {
		t.Errorf("described as %+v", p)
	}
	st.starting = false
	p = wharf.Process{App: "a", Type: "web", Instance: 1, Release: 1}
	d.describe(&p, true)
	if p.State != "running" {
		t.Errorf("a crash-looping process up again is %q, want it routed as running", p.State)
	}
}
