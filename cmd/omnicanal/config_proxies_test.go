package main

import (
	"bytes"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestTrustedProxiesConfig(t *testing.T) {
	cfg, err := loadConfig(false, nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.TrustedProxies) != 0 {
		t.Errorf("by default nobody is trusted, got %v", cfg.TrustedProxies)
	}
	cfg, err = loadConfig(false, nil, env(map[string]string{"TRUSTED_PROXIES": " 10.0.0.0/8, 2001:db8::/32,192.0.2.7 ,::ffff:198.51.100.1,"}))
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("198.51.100.1/32"),
	}
	if !slices.Equal(cfg.TrustedProxies, want) {
		t.Errorf("TRUSTED_PROXIES: got %v, want %v", cfg.TrustedProxies, want)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting", "config", cfg)
	if !strings.Contains(buf.String(), "10.0.0.0/8") {
		t.Errorf("logged config lacks the trusted proxies: %s", buf.String())
	}

	for _, bad := range []string{"10.0.0.0/33", "lb.internal", "10.0.0.1/8", "10.0.0.0/8;192.0.2.0/24"} {
		if _, err := loadConfig(false, nil, env(map[string]string{"TRUSTED_PROXIES": bad})); err == nil || !strings.Contains(err.Error(), "TRUSTED_PROXIES") {
			t.Errorf("TRUSTED_PROXIES=%q: %v, want an error naming the setting", bad, err)
		}
	}
}
