package main

import (
	"maps"
	"strings"
	"testing"
)

func TestParseProcfile(t *testing.T) {
	got, err := parseProcfile([]byte("# comment\n\nweb: httpd -f -p $PORT\nworker:sh -c 'while true; do sleep 1; done'\nrelease: ./migrate\n"))
	want := map[string]string{"web": "httpd -f -p $PORT", "worker": "sh -c 'while true; do sleep 1; done'", "release": "./migrate"}
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("parseProcfile = %v, %v; want %v", got, err, want)
	}
	for in, msg := range map[string]string{
		"web: a\n\nweb: b\n":  `Procfile line 3: process type "web" is defined twice`,
		"web a\n":             `Procfile line 1: expected "type: command"`,
		"# x\nWeb: a\n":       `Procfile line 2: invalid process type "Web"`,
		"web: a\nworker:  \n": `Procfile line 2: process type "worker" has no command`,
		"# only comments\n":   "defines no process type",
	} {
		if _, err := parseProcfile([]byte(in)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("parseProcfile(%q) = %v; want %q", in, err, msg)
		}
	}
}

func TestParseAppJSON(t *testing.T) {
	hc, err := parseAppJSON([]byte(`{"healthchecks": {"web": [{"type":"startup","name":"web check","path":"/health","timeout": 5, "attempts": 3}]}}`))
	if err != nil || hc.Path != "/health" || hc.Timeout != 5 || hc.Attempts != 3 {
		t.Fatalf("parseAppJSON = %+v, %v", hc, err)
	}
	if _, err := parseAppJSON([]byte(`{"healthchecks": {"web": [{"path":"health"}]}}`)); err == nil {
		t.Error("a path without / was accepted")
	}
	if _, err := parseAppJSON([]byte(`{`)); err == nil {
		t.Error("broken JSON was accepted")
	}
}

func TestWithDefaults(t *testing.T) {
	got := withDefaults(map[string]string{"web": "./server"}, map[string]string{"web": "default", "worker": "./work"})
	if want := map[string]string{"web": "./server", "worker": "./work"}; !maps.Equal(got, want) {
		t.Errorf("withDefaults = %v, want %v", got, want)
	}
	if got := withDefaults(nil, nil); got != nil {
		t.Errorf("withDefaults(nil, nil) = %v", got)
	}
}
