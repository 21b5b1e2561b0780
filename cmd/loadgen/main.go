// Command loadgen sends one named GraphQL operation to a local Omnicanal
// server over a fixed number of keep-alive connections, for a fixed time or
// request count, and reports throughput, latency percentiles, errors and
// (with --pid) the server's resident memory.
//
//	go run ./cmd/loadgen --op listing --c 16 --d 20s --pid $(pgrep -n omnicanal)
//
// A checkout (pickup, pay at pickup) of fresh guest carts, each checked
// out once: --n is required, and exactly 1 + 10 per connection (the
// warm-up; none with --warmup 0) + --n carts are created before the
// clock starts. The run ends when they are all checked out.
//
//	go run ./cmd/loadgen --op checkout --c 16 --n 3000 --warmup 1s
//
// It only ever talks to loopback addresses: it is a tool for measuring a
// server on this machine (docs/performance.md), not for loading someone
// else's. It is a closed loop — each connection sends its next request when
// the previous answer arrives — so latencies are those of a server kept
// exactly this busy, not of an open stream of arrivals.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"time"
)

// Bounds on the flags: the tool must stop by itself and stay a measuring
// instrument, not become a way to flood a machine for hours.
const (
	maxConns    = 1024
	maxDuration = time.Hour
	// maxOnce bounds --n for an operation whose requests are prepared
	// beforehand and sent once (checkout): each checkout takes stock.
	maxOnce = 20000
	// onceWarmupPerConn is the warm-up of such an operation, in requests
	// per connection: its requests are prepared before the run, so its
	// warm-up is a count, not --warmup's duration.
	onceWarmupPerConn = 10
)

type config struct {
	url      string
	op       string
	conns    int
	duration time.Duration
	requests int
	warmup   time.Duration
	key      string
	pid      int
	timeout  time.Duration
	json     bool
}

func main() {
	quietGC()
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// quietGC keeps the tool's garbage collector out of the measurement, unless
// GOGC or GOMEMLIMIT say otherwise: the tool shares the machine with the
// server it measures, and at Go's default it spent a good part of its CPU
// collecting the response bodies it reads (each listing is ~100 KB), CPU
// the server then lacked (docs/performance.md). It collects only as its
// heap nears 256 MiB.
func quietGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(256 << 20)
	debug.SetGCPercent(-1)
}

func run(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	op := operations[cfg.op]

	// Ctrl-C ends the run early and still prints what was measured.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	c, err := newClient(cfg.url, cfg.key, cfg.conns, cfg.timeout)
	if err != nil {
		return err
	}
	defer c.close()

	if op.once != nil {
		return runOnceOp(ctx, cfg, op, c, stdout, stderr)
	}
	bodies, err := op.connBodies(ctx, c, cfg.conns)
	if err != nil {
		return fmt.Errorf("prepare %s: %w", cfg.op, err)
	}
	// One request before the clock starts: a wrong URL, key or query fails
	// here with the server's own words instead of as a wall of errors.
	if res := c.send(ctx, bodies[0][0]); res.err != nil {
		return fmt.Errorf("first %s request: %w", cfg.op, res.err)
	}

	rss, err := startSampler(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "loadgen: %s → %s, %d connections, %s warm-up, then %s", cfg.op, cfg.url, cfg.conns, cfg.warmup, cfg.duration)
	if cfg.requests > 0 {
		fmt.Fprintf(stderr, " or %d requests", cfg.requests)
	}
	fmt.Fprintln(stderr)

	res := runLoad(ctx, c, bodies, cfg.conns, cfg.warmup, cfg.duration, cfg.requests,
		func() { rss.begin(ctx, 250*time.Millisecond) })
	return printReport(cfg, res, rss, stdout)
}

// runOnceOp runs an operation whose requests are sent once each: it
// prepares 1 + warm-up + --n of them, sends the first as the check, the
// next onceWarmupPerConn per connection as the warm-up (none with
// --warmup 0), and measures the --n others.
func runOnceOp(ctx context.Context, cfg config, op operation, c *client, stdout, stderr io.Writer) error {
	warm := 0
	if cfg.warmup > 0 {
		warm = onceWarmupPerConn * cfg.conns
	}
	fmt.Fprintf(stderr, "loadgen: %s: preparing %d requests (1 check, %d warm-up, %d measured)…\n", cfg.op, 1+warm+cfg.requests, warm, cfg.requests)
	sets, err := op.once(ctx, c, 1+warm+cfg.requests, cfg.conns)
	if err != nil {
		return fmt.Errorf("prepare %s: %w", cfg.op, err)
	}
	bodies, err := encodeAll(op.query, sets)
	if err != nil {
		return fmt.Errorf("prepare %s: %w", cfg.op, err)
	}
	if res := c.send(ctx, bodies[0]); res.err != nil {
		return fmt.Errorf("first %s request: %w", cfg.op, res.err)
	}
	rss, err := startSampler(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "loadgen: %s → %s, %d connections, %d requests of warm-up, then %d requests or %s\n",
		cfg.op, cfg.url, cfg.conns, warm, cfg.requests, cfg.duration)
	res := runOnce(ctx, c, bodies[1:], cfg.conns, warm, cfg.duration,
		func() { rss.begin(ctx, 250*time.Millisecond) })
	return printReport(cfg, res, rss, stdout)
}

// startSampler starts nothing without --pid; rssSampler's methods then do
// nothing.
func startSampler(cfg config) (*rssSampler, error) {
	if cfg.pid <= 0 {
		return nil, nil
	}
	return startRSS(cfg.pid)
}

func printReport(cfg config, res *loadResult, rss *rssSampler, stdout io.Writer) error {
	rep := newReport(cfg, res, rss.result())
	if cfg.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.print(stdout)
	return nil
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8080/graphql", "GraphQL endpoint; loopback addresses only")
	fs.StringVar(&cfg.op, "op", "listing", "operation to send: "+strings.Join(operationNames(), ", "))
	fs.IntVar(&cfg.conns, "c", 16, "concurrent keep-alive connections")
	fs.DurationVar(&cfg.duration, "d", 10*time.Second, "measured duration, after the warm-up (always a bound, even with -n)")
	fs.IntVar(&cfg.requests, "n", 0, "stop after this many measured requests (0: run for -d); required by checkout, which prepares exactly that many")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "load sent before measuring and left out of the figures (checkout: 10 requests per connection when not 0)")
	fs.StringVar(&cfg.key, "key", "pk_demo_web_eu", "X-Channel-Key header")
	fs.IntVar(&cfg.pid, "pid", 0, "sample the resident memory (VmRSS) of this process during the measured period")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "limit of one request")
	fs.BoolVar(&cfg.json, "json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: loadgen [flags]\n\nSends one GraphQL operation to a local server and reports throughput and latency.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if _, ok := operations[cfg.op]; !ok {
		return cfg, fmt.Errorf("unknown operation %q (known: %s)", cfg.op, strings.Join(operationNames(), ", "))
	}
	switch {
	case cfg.conns < 1 || cfg.conns > maxConns:
		return cfg, fmt.Errorf("--c must be between 1 and %d", maxConns)
	case cfg.duration <= 0 || cfg.duration > maxDuration:
		return cfg, fmt.Errorf("--d must be positive and at most %s", maxDuration)
	case cfg.warmup < 0 || cfg.warmup > maxDuration:
		return cfg, fmt.Errorf("--warmup must be between 0 and %s", maxDuration)
	case cfg.requests < 0:
		return cfg, errors.New("--n must not be negative")
	case cfg.timeout <= 0:
		return cfg, errors.New("--timeout must be positive")
	case cfg.pid < 0:
		return cfg, errors.New("--pid must not be negative")
	}
	if operations[cfg.op].once != nil && (cfg.requests < 1 || cfg.requests > maxOnce) {
		return cfg, fmt.Errorf("--op %s sends each request once and prepares them before the run: give --n between 1 and %d", cfg.op, maxOnce)
	}
	if err := checkURL(cfg.url); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func operationNames() []string {
	names := make([]string, 0, len(operations))
	for n := range operations {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
