package graph

import (
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	lb := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:aa::/48")}
	cases := []struct {
		name      string
		peer      string
		forwarded []string
		trusted   []netip.Prefix
		want      string
	}{
		{"no proxy trusted: the header is ignored", "198.51.100.4:5000", []string{"203.0.113.9"}, nil, "198.51.100.4"},
		{"untrusted peer spoofing a header", "198.51.100.4:5000", []string{"203.0.113.9, 10.0.0.2"}, lb, "198.51.100.4"},
		{"untrusted peer pretending to be a trusted range", "198.51.100.4:5000", []string{"10.0.0.7"}, lb, "198.51.100.4"},
		{"trusted peer, one hop", "10.0.0.2:5000", []string{"203.0.113.9"}, lb, "203.0.113.9"},
		{"trusted peer without the header", "10.0.0.2:5000", nil, lb, "10.0.0.2"},
		{"a forged entry left of the real client", "10.0.0.2:5000", []string{"192.0.2.66, 203.0.113.9"}, lb, "203.0.113.9"},
		{"a forged trusted entry left of the real client", "10.0.0.2:5000", []string{"10.9.9.9, 203.0.113.9"}, lb, "203.0.113.9"},
		{"two trusted proxies", "10.0.0.2:5000", []string{"203.0.113.9, 10.1.2.3"}, lb, "203.0.113.9"},
		{"several header lines", "10.0.0.2:5000", []string{"192.0.2.66", "203.0.113.9, 10.1.2.3"}, lb, "203.0.113.9"},
		{"entries with ports", "10.0.0.2:5000", []string{"203.0.113.9:41000, [2001:db8:aa::5]:443"}, lb, "203.0.113.9"},
		{"IPv6 peer and client", "[2001:db8:aa::1]:443", []string{"2001:db8:bb::7"}, lb, "2001:db8:bb::7"},
		{"IPv4-mapped peer", "[::ffff:10.0.0.2]:5000", []string{"203.0.113.9"}, lb, "203.0.113.9"},
		{"garbage stops at the last trusted hop", "10.0.0.2:5000", []string{"203.0.113.9, not-an-ip, 10.1.2.3"}, lb, "10.1.2.3"},
		{"only garbage", "10.0.0.2:5000", []string{"unknown"}, lb, "10.0.0.2"},
		{"all hops trusted", "10.0.0.2:5000", []string{"10.3.3.3, 10.1.2.3"}, lb, "10.3.3.3"},
	}
	for _, c := range cases {
		if got := clientAddr(c.peer, c.forwarded, c.trusted); got != c.want {
			t.Errorf("%s: %s with %q: got %s, want %s", c.name, c.peer, c.forwarded, got, c.want)
		}
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":            "192.0.2.1",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"::ffff:192.0.2.1":     "192.0.2.1",
		"@":                    "@",
	} {
		if got := clientKey(in); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", in, got, want)
		}
	}
}
