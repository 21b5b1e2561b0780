package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// The server collects only near its memory limit, unless the operator
// chose; without any limit it never turns the collector off.
func TestTuneGC(t *testing.T) {
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) })

	for _, tc := range []struct {
		name, gogc, gomemlimit string
		limitBefore            int64
		wantPercent            int
		wantLimit              int64
	}{
		{"defaults", "", "", math.MaxInt64, -1, 60 << 20},
		{"no limit", "", "off", math.MaxInt64, 400, math.MaxInt64},
		{"operator's GOGC", "200", "", math.MaxInt64, 200, 60 << 20},
		{"operator's limit", "", "1GiB", 1 << 30, 400, 1 << 30},
		{"operator's small limit", "", "100MiB", 100 << 20, -1, 100 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", tc.gogc)
			t.Setenv("GOMEMLIMIT", tc.gomemlimit)
			debug.SetGCPercent(200) // what the runtime would have read from GOGC=200
			debug.SetMemoryLimit(tc.limitBefore)
			tuneGC()
			if got := debug.SetGCPercent(100); got != tc.wantPercent {
				t.Errorf("GC percent %d, want %d", got, tc.wantPercent)
			}
			if got := debug.SetMemoryLimit(-1); got != tc.wantLimit {
				t.Errorf("memory limit %d, want %d", got, tc.wantLimit)
			}
		})
	}
}
