// Command omnicanal is the Omnicanal server and its tools.
//
//	omnicanal dev      start everything for development: a private Postgres under
//	                   the data folder (unless DATABASE_URL is set), migrations,
//	                   demo data on first run, and the server
//	omnicanal serve    serve the API, admin and web assets (production)
//	omnicanal migrate  apply pending database migrations
//	omnicanal seed     load the demo data set (idempotent)
//	omnicanal reindex  rebuild the search index from the catalog
//	omnicanal staff    create staff users, issue and revoke their API tokens
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/internal/pgxuuid"
	"github.com/omnicanal/omnicanal/migrations"
)

const usage = `usage: omnicanal <command> [flags]

commands:
  dev      start everything for development (private Postgres, migrations, demo data, server)
  serve    serve the API, admin and web assets; needs DATABASE_URL and a migrated schema
  migrate  apply pending database migrations (needs DATABASE_URL)
  seed     load the demo data set, idempotent (needs DATABASE_URL)
  reindex  rebuild the search index from the catalog (needs DATABASE_URL)
  staff    create staff users and issue their API tokens (needs DATABASE_URL; see omnicanal staff help)

flags: --addr (OMNICANAL_ADDR), --data-dir (OMNICANAL_DATA_DIR); the README lists every setting.
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "omnicanal:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, args := args[0], args[1:]
	cfgArgs := args
	if cmd == "staff" {
		cfgArgs = nil // staff has its own subcommands and flags (staff.go)
	}
	cfg, err := loadConfig(cmd == "dev", cfgArgs, os.Getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch cmd {
	case "dev":
		tuneGC()
		return runDev(ctx, cfg, log, stdout)
	case "serve":
		tuneGC()
		return runServe(ctx, cfg, log, nil)
	case "migrate":
		return withPool(ctx, cfg, func(pool *pgxpool.Pool) error { return migrate(ctx, pool, log) })
	case "seed":
		return withPool(ctx, cfg, func(pool *pgxpool.Pool) error { return seed(ctx, pool, log) })
	case "reindex":
		return withPool(ctx, cfg, func(pool *pgxpool.Pool) error { return reindex(ctx, cfg, pool, log) })
	case "staff":
		return withPool(ctx, cfg, func(pool *pgxpool.Pool) error { return runStaff(ctx, pool, args, os.Stdin, stdout, stderr) })
	default:
		return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
	}
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func withPool(ctx context.Context, cfg Config, f func(*pgxpool.Pool) error) error {
	if cfg.DatabaseURL == "" {
		return errors.New("DATABASE_URL is not set (for a private development database use `omnicanal dev`)")
	}
	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return errors.New("DATABASE_URL is not a valid Postgres URL") // the URL may hold a password: not echoed
	}
	if !strings.Contains(cfg.DatabaseURL, "pool_max_conns") {
		// pgx's default (4 on this kind of machine) queues requests behind
		// each other under load, and the outbox worker keeps one for LISTEN.
		pcfg.MaxConns = 20
	}
	pcfg.AfterConnect = pgxuuid.AfterConnect
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	return f(pool)
}

// runServe serves until ctx ends. It refuses an out-of-date schema: code
// running against tables it does not expect fails in ways far harder to see.
func runServe(ctx context.Context, cfg Config, log *slog.Logger, started func(net.Addr)) error {
	return withPool(ctx, cfg, func(pool *pgxpool.Pool) error {
		pending, err := migrations.Pending(ctx, pool)
		if err != nil {
			return err
		}
		if len(pending) > 0 {
			return fmt.Errorf("the database schema is out of date (%d migration(s) pending, first %s): run `omnicanal migrate`", len(pending), pending[0].Name)
		}
		log.Info("starting", "config", cfg)
		// Cart adds run on connections of their own, set up for them once
		// (cart.NewAddPool): one statement less per add.
		addPool, err := cart.NewAddPool(ctx, pool.Config())
		if err != nil {
			return fmt.Errorf("database: %w", err)
		}
		defer addPool.Close()
		a := newApp(cfg, pool, log, cart.WithAddPool(addPool))
		if m, ok := a.SearchEngine.(interface{ EnsureSettings(context.Context) error }); ok {
			// Meilisearch filters nothing until its index settings are applied.
			if err := m.EnsureSettings(ctx); err != nil {
				return fmt.Errorf("search engine: %w", err)
			}
		}
		worker := a.indexWorker(pool, log)
		wctx, stopWorker := context.WithCancel(ctx)
		workerDone, liveDone := make(chan error, 1), make(chan error, 1)
		go func() { workerDone <- worker.Run(wctx) }()
		// The cart hub listens for as long as the server serves; it
		// reconnects by itself when the database connection drops.
		go func() { liveDone <- a.runLive(wctx) }()
		go a.runOrderExpiry(wctx, log)
		err = serveHTTP(ctx, cfg, newHandler(cfg, a, pool, log), log, started)
		stopWorker()
		return errors.Join(err, <-workerDone, <-liveDone)
	})
}

func migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	applied, err := migrations.Up(ctx, pool)
	for _, name := range applied {
		log.Info("migration applied", "name", name)
	}
	if err != nil {
		return err
	}
	log.Info("schema up to date", "version", migrations.Latest())
	return nil
}

func seed(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	pending, err := migrations.Pending(ctx, pool)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		return errors.New("the database schema is out of date: run `omnicanal migrate` first")
	}
	sum, err := demo.Seed(ctx, pool)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	log.Info("demo data loaded", "locations", sum.Locations, "channels", sum.Channels,
		"products", sum.Products, "variants", sum.Variants, "prices", sum.Prices, "stock_levels", sum.StockLevels)
	return nil
}

// reindex empties the search index and rebuilds it from the catalog.
func reindex(ctx context.Context, cfg Config, pool *pgxpool.Pool, log *slog.Logger) error {
	pending, err := migrations.Pending(ctx, pool)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		return errors.New("the database schema is out of date: run `omnicanal migrate` first")
	}
	n, err := newApp(cfg, pool, log).Indexer.Rebuild(ctx)
	if err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	log.Info("search index rebuilt", "products", n)
	return nil
}

// tuneGC sets the garbage collector for a small, busy API server unless the
// operator chose with GOGC / GOMEMLIMIT: a memory limit of 60 MiB, and no
// collection before the heap nears it. The live heap is small (10–15 MiB:
// caches, pools, requests in progress, bounded by the in-flight limit), so
// a collection costs little while each one that GOGC would start early
// costs as much: GOGC=400 with a 64 MiB limit still spent 12 % of the
// server's CPU on GC under a load of cart adds. A/B of the server alone
// against Go's default: cart adds 974 → 1,128 a second, the listing's p99
// at 64 connections 22.1 → 20.5 ms, the resident size 74–76 MiB
// (docs/performance.md). Without a limit, or with one of 1 GiB or more
// (GOMEMLIMIT), GOGC stays at 400: off, the heap would grow that far.
//
// Called by dev and serve only: the other commands are short-lived.
func tuneGC() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(60 << 20)
	}
	if os.Getenv("GOGC") == "" {
		if limit := debug.SetMemoryLimit(-1); limit < 1<<30 {
			debug.SetGCPercent(-1) // the limit alone triggers collections
		} else {
			debug.SetGCPercent(400)
		}
	}
}
