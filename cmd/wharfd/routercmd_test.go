package main

import (
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseRouterConfig(t *testing.T) {
	env := func(k string) string { return map[string]string{"DATABASE_URL": "postgres://db/wharf"}[k] }
	c, err := parseRouterConfig([]string{"--http-addr", ":80", "--trusted-proxies", "10.0.0.0/8, 192.168.1.1/32", "--domain", "Apps.Example.COM."}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgres://db/wharf" || c.HTTPAddr != ":80" || c.Domain != "apps.example.com" || c.Resync != 5*time.Second ||
		len(c.Trusted) != 2 || c.Trusted[1] != netip.MustParsePrefix("192.168.1.1/32") {
		t.Fatalf("config = %+v", c)
	}
	for args, want := range map[string]string{
		"--http-addr :80": "--database-url is required",
		"--database-url x --trusted-proxies 10.0.0.1":                  `"10.0.0.1" is not a CIDR`,
		"--database-url x --log-format xml":                            "--log-format must be text or json",
		"--database-url x extra":                                       `unexpected argument "extra"`,
		"--database-url x --https-addr= --acme-ca https://ca.test/dir": "--acme-ca needs an HTTPS listener",
	} {
		_, err := parseRouterConfig(strings.Fields(args), func(string) string { return "" }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", args, err, want)
		}
	}
}
