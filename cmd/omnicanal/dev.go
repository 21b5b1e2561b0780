package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce/demo"
	"github.com/omnicanal/omnicanal/internal/pgcluster"
)

// runDev is the README's run command: everything a developer needs, in one
// process. Without DATABASE_URL it runs a private Postgres under the data
// folder, kept between runs and stopped with the server.
func runDev(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) (err error) {
	if cfg.DatabaseURL == "" {
		dataDir := filepath.Join(cfg.DataDir, "postgres")
		log.Info("starting the private Postgres", "data_dir", dataDir)
		cluster, err := pgcluster.Start(ctx, pgcluster.Options{DataDir: dataDir})
		if err != nil {
			return err
		}
		defer func() {
			log.Info("stopping the private Postgres")
			if stopErr := cluster.Stop(); stopErr != nil && err == nil {
				err = fmt.Errorf("stop Postgres: %w", stopErr)
			}
		}()
		if err := cluster.EnsureDatabase(ctx, "omnicanal"); err != nil {
			return err
		}
		cfg.DatabaseURL = cluster.URL("omnicanal")
		log.Info("private Postgres ready", "database_url", cfg.DatabaseURL, "log", cluster.LogFile())
	}
	err = withPool(ctx, cfg, func(pool *pgxpool.Pool) error {
		if err := migrate(ctx, pool, log); err != nil {
			return err
		}
		// Seed on the first run, and once more when the demo data gained
		// tables since (a database made before categories existed).
		var seeded bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM channels) AND EXISTS (SELECT 1 FROM categories)`).Scan(&seeded); err != nil {
			return err
		}
		if !seeded {
			if err := seed(ctx, pool, log); err != nil {
				return err
			}
			// Searchable right away, rather than when the worker gets to it.
			return reindex(ctx, cfg, pool, log)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return runServe(ctx, cfg, log, func(addr net.Addr) {
		url := "http://" + displayAddr(addr)
		fmt.Fprintf(stdout, "\nOmnicanal is running at %s\n  GraphQL:  %s/graphql  (X-Channel-Key: %s)\n  GraphiQL: %s/graphiql\n  Admin:    %s/admin/\nPress Ctrl-C to stop.\n\n",
			url, url, demo.KeyWebEU, url, url)
	})
}

// displayAddr turns a listener address into one a browser can open.
func displayAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() || ip.IsLoopback() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
