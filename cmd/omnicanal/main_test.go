package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/demo"
)

func TestMain(m *testing.M) { commercetest.Main(m) }

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestConfigFromEnvironmentAndFlags(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "stripe")
	if err := os.WriteFile(secret, []byte("sk_test_from_file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(false, []string{"--addr", "127.0.0.1:9999"}, env(map[string]string{
		"OMNICANAL_ADDR":                   "ignored:1",
		"OMNICANAL_DATA_DIR":               "/var/lib/omnicanal",
		"DATABASE_URL":                     "postgres://app:hunter2@db:5432/omnicanal?sslmode=require",
		"STRIPE_SECRET_KEY_FILE":           secret,
		"STRIPE_WEBHOOK_SECRET":            "whsec_from_env",
		"STRIPE_API_BASE":                  "http://localhost:12111",
		"OMNICANAL_LOG_LEVEL":              "debug",
		"OMNICANAL_GRAPHQL_MAX_DEPTH":      "9",
		"OMNICANAL_GRAPHQL_TIMEOUT":        "3s",
		"OMNICANAL_GRAPHQL_MAX_BODY_BYTES": "2048",
		"OMNICANAL_GRAPHIQL":               "true",

		"OMNICANAL_GRAPHQL_MAX_QUERIES_IN_FLIGHT":   "5",
		"OMNICANAL_GRAPHQL_MAX_MUTATIONS_IN_FLIGHT": "7",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9999" {
		t.Errorf("the --addr flag must win over OMNICANAL_ADDR, got %q", cfg.Addr)
	}
	if cfg.DataDir != "/var/lib/omnicanal" || cfg.StripeSecretKey != "sk_test_from_file" || cfg.StripeWebhookSecret != "whsec_from_env" || cfg.StripeAPIBase != "http://localhost:12111" || cfg.LogLevel != slog.LevelDebug ||
		cfg.GraphQL.MaxDepth != 9 || cfg.GraphQL.Timeout != 3*time.Second || cfg.GraphQL.MaxBodyBytes != 2048 || !cfg.GraphiQL ||
		cfg.GraphQL.MaxQueriesInFlight != 5 || cfg.GraphQL.MaxMutationsInFlight != 7 {
		t.Errorf("config not read from the environment: %+v", cfg)
	}

	// Secrets never reach the log.
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting", "config", cfg)
	for _, s := range []string{"hunter2", "sk_test_from_file", "whsec_from_env", "sslmode=require"} {
		if strings.Contains(buf.String(), s) {
			t.Errorf("logged config leaks %q: %s", s, buf.String())
		}
	}
	if !strings.Contains(buf.String(), "db:5432") || !strings.Contains(buf.String(), `"stripe_secret_key_set":true`) {
		t.Errorf("logged config lost its harmless parts: %s", buf.String())
	}
}

func TestConfigRejectsBadValues(t *testing.T) {
	cases := map[string]map[string]string{
		"log level":      {"OMNICANAL_LOG_LEVEL": "loud"},
		"log format":     {"OMNICANAL_LOG_FORMAT": "xml"},
		"not an integer": {"OMNICANAL_GRAPHQL_MAX_DEPTH": "deep"},
		"negative limit": {"OMNICANAL_GRAPHQL_MAX_COMPLEXITY": "-1"},
		"bad duration":   {"OMNICANAL_GRAPHQL_TIMEOUT": "10"},
		"bad boolean":    {"OMNICANAL_GRAPHIQL": "maybe"},
		"secret twice":   {"STRIPE_SECRET_KEY": "a", "STRIPE_SECRET_KEY_FILE": "/b"},
		"missing file":   {"STRIPE_WEBHOOK_SECRET_FILE": "/no/such/file"},
		"database URL":   {"DATABASE_URL": "not a url with password hunter2"},
		"empty address":  {"OMNICANAL_ADDR": " "},
		"stripe base":    {"STRIPE_API_BASE": "localhost:12111 hunter2"},
		// Split in two: an operator who set it must choose.
		"old in-flight bound":      {"OMNICANAL_GRAPHQL_MAX_IN_FLIGHT": "6"},
		"negative mutations bound": {"OMNICANAL_GRAPHQL_MAX_MUTATIONS_IN_FLIGHT": "-1"},
	}
	for name, kv := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(false, nil, env(kv))
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error echoes a secret: %v", err)
			}
		})
	}
	if _, err := loadConfig(false, []string{"--nope"}, env(nil)); err == nil {
		t.Error("unknown flag accepted")
	}
}

// syncBuffer is an io.Writer the server goroutine writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testConfig(t *testing.T, dev bool) Config {
	t.Helper()
	cfg, err := loadConfig(dev, []string{"--addr", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data")}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ShutdownTimeout = 5 * time.Second
	return cfg
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// serve runs runServe in the background and returns its base URL and a
// function that stops it (as SIGTERM would) and returns its error.
func serve(t *testing.T, cfg Config) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, cfg, slog.New(slog.DiscardHandler), func(a net.Addr) { addr <- a })
	}()
	select {
	case a := <-addr:
		return "http://" + a.String(), func() error { cancel(); return <-done }
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	}
	return "", nil
}

func TestServeRoutesAndGracefulShutdown(t *testing.T) {
	cfg := testConfig(t, false)
	cfg.DatabaseURL = commercetest.URL(t, commercetest.WithSeed("demo", func(ctx context.Context, pool *pgxpool.Pool) error {
		_, err := demo.Seed(ctx, pool)
		return err
	}))
	base, stop := serve(t, cfg)

	for path, want := range map[string]string{
		"/healthz": `"ok"`,
		"/readyz":  `"ok"`,
		"/":        "Omnicanal",
		"/admin/":  "<html",
	} {
		if code, body := get(t, base+path); code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d %.200s", path, code, body)
		}
	}
	if code, _ := get(t, base+"/graphiql"); code != http.StatusNotFound {
		t.Errorf("GraphiQL must be off in production, got %d", code)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(`{"query":"{ products(first: 2) { nodes { handle } } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Channel-Key", demo.KeyWebEU)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "handle") || res.Header.Get("X-Request-ID") == "" {
		t.Errorf("graphql: %d %s", res.StatusCode, body)
	}

	if err := stop(); err != nil {
		t.Errorf("graceful shutdown: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still serving after shutdown")
	}
}

func TestServeRefusesAnOutdatedSchema(t *testing.T) {
	cfg := testConfig(t, false)
	cfg.DatabaseURL = commercetest.URL(t)
	pool, err := pgxpool.New(t.Context(), cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// Pretend the newest migration has not run.
	if _, err := pool.Exec(t.Context(), `DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	err = runServe(t.Context(), cfg, slog.New(slog.DiscardHandler), nil)
	if err == nil || !strings.Contains(err.Error(), "omnicanal migrate") {
		t.Fatalf("want a refusal naming `omnicanal migrate`, got %v", err)
	}
}

func TestReadyzReportsAnOutdatedSchema(t *testing.T) {
	cfg := testConfig(t, false)
	cfg.DatabaseURL = commercetest.URL(t)
	base, stop := serve(t, cfg)
	defer stop()
	pool, err := pgxpool.New(t.Context(), cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(t.Context(), `DELETE FROM schema_migrations`); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "schema") {
		t.Errorf("readyz on an outdated schema = %d %s", code, body)
	}
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("healthz must only say the process is alive, got %d", code)
	}
}

var runningAt = regexp.MustCompile(`running at (http://\S+)`)

// dev is the README's run command: a private Postgres under the data folder,
// migrations, demo data on first run, the server; and on stop, no postgres
// left behind. A second run reuses the data.
func TestDevRunsAPrivatePostgresAndLeavesNothingBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Postgres cluster")
	}
	cfg := testConfig(t, true)
	run := func() (base string, pid int, stop func() error) {
		t.Helper()
		ctx, cancel := context.WithCancel(t.Context())
		out := &syncBuffer{}
		done := make(chan error, 1)
		go func() { done <- runDev(ctx, cfg, slog.New(slog.DiscardHandler), out) }()
		deadline := time.After(2 * time.Minute)
		for {
			if m := runningAt.FindStringSubmatch(out.String()); m != nil {
				base = m[1]
				break
			}
			select {
			case err := <-done:
				cancel()
				t.Fatalf("dev stopped before serving: %v", err)
			case <-deadline:
				cancel()
				t.Fatal("dev did not start within 2 minutes")
			case <-time.After(50 * time.Millisecond):
			}
		}
		pidFile, err := os.ReadFile(filepath.Join(cfg.DataDir, "postgres", "postmaster.pid"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Sscan(strings.SplitN(string(pidFile), "\n", 2)[0], &pid); err != nil {
			t.Fatal(err)
		}
		return base, pid, func() error { cancel(); return <-done }
	}

	base, pid, stop := run()
	code, body := get(t, base+"/graphiql")
	if code != http.StatusOK || !strings.Contains(body, demo.KeyWebEU) {
		t.Errorf("dev must serve GraphiQL with the demo key, got %d", code)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(`{"query":"{ products(first: 1) { totalCount } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Channel-Key", demo.KeyWebEU)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !regexp.MustCompile(`"totalCount":2\d\d`).Match(b) {
		t.Errorf("demo data not loaded: %s", b)
	}
	if err := stop(); err != nil {
		t.Fatalf("dev stop: %v", err)
	}
	if alive(pid) {
		t.Fatalf("postgres (pid %d) still running after dev stopped", pid)
	}

	// Second run: same data, no initdb, no seed.
	base, pid, stop = run()
	if code, _ := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("second run not ready: %d", code)
	}
	if err := stop(); err != nil {
		t.Fatalf("second dev stop: %v", err)
	}
	if alive(pid) {
		t.Fatalf("postgres (pid %d) still running after the second dev stopped", pid)
	}
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
