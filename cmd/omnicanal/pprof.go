//go:build pprof

package main

// Built with -tags pprof, the server also serves net/http/pprof on
// OMNICANAL_PPROF_ADDR (a loopback address, e.g. 127.0.0.1:6060), for
// profiling under load (docs/performance.md). Never in a normal build.

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof" //nolint:gosec // loopback only, and only in -tags pprof builds
	"os"
)

func init() {
	addr := os.Getenv("OMNICANAL_PPROF_ADDR")
	if addr == "" {
		return
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			slog.Error("pprof server", "err", err)
		}
	}()
}
