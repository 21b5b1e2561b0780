// Package commercetest gives every test its own real, migrated Postgres
// database, following pgtestdb's design: the migrations run once per test
// process into a template database, and each test gets a cheap
// CREATE DATABASE … TEMPLATE clone of it, dropped when the test ends.
//
// The server is the one named by TEST_DATABASE_URL (its role must be allowed
// to CREATE DATABASE), or else a throwaway cluster this package starts in a
// temporary directory with internal/pgcluster. Test packages must route
// TestMain through Main so that server and templates are cleaned up:
//
//	func TestMain(m *testing.M) { commercetest.Main(m) }
//
// Without a database (no server binaries installed, the server fails to
// start) tests are skipped, except when CI is "true" or "1": there a missing
// database fails the run, so a broken CI setup can never pass silently.
package commercetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/internal/pgcluster"
	"github.com/omnicanal/omnicanal/internal/pgxuuid"
	"github.com/omnicanal/omnicanal/migrations"
)

// EnvURL names the environment variable holding the URL of an existing server
// to use instead of a private cluster.
const EnvURL = "TEST_DATABASE_URL"

// maxConns bounds each test's pool. Concurrency tests run ~20 goroutines at
// once, and they must really run concurrently, not queue for a connection.
const maxConns = 20

// setupTimeout bounds starting the server and building a template: initdb
// and migrations take seconds; a minute means something is stuck.
const setupTimeout = 2 * time.Minute

var (
	// mainRunning is set by Main before any test runs; NewDB refuses to
	// start a server nobody would stop.
	mainRunning bool

	serverOnce sync.Once
	srv        *server
	srvErr     error
)

// server is the database server of this test process and what was built on it.
type server struct {
	adminURL string             // a database on the server to run CREATE/DROP DATABASE from
	admin    *pgxpool.Pool      // connected to adminURL
	cluster  *pgcluster.Cluster // nil when the server is TEST_DATABASE_URL's
	tmpDir   string             // holds the private cluster, removed by Main

	// prefix makes this process's database names unique on a shared server:
	// the pid alone repeats across CI containers and after a killed run.
	prefix string
	nextDB atomic.Int64

	// createMu serializes CREATE DATABASE: a clone fails while anything else
	// touches its template, and serial clones are fast anyway.
	createMu sync.Mutex

	baseOnce sync.Once
	base     string // the migrated template
	baseErr  error

	seedsMu   sync.Mutex
	seeds     map[string]*seeded
	templates []string // every template made, in creation order; guarded by seedsMu
}

// seeded is a template that was migrated and then seeded, once, under a name.
type seeded struct {
	once sync.Once
	name string
	err  error
}

// Main runs the tests of a package, then stops the server and drops the
// templates this process made, and exits with the tests' status. Call it from
// TestMain.
func Main(m *testing.M) {
	mainRunning = true
	code := m.Run()
	if err := teardown(); err != nil {
		fmt.Fprintf(os.Stderr, "commercetest: cleanup: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Option changes what NewDB builds.
type Option func(*options)

type options struct {
	seedName string
	seed     func(context.Context, *pgxpool.Pool) error
}

// WithSeed makes NewDB clone a template that was migrated and then filled by
// seed, once per test process for each name: tests that share fixtures pay
// for them once. The first seed given for a name is the one that runs; later
// ones under the same name reuse its result. When several WithSeed options
// are given, the last one applies.
func WithSeed(name string, seed func(ctx context.Context, pool *pgxpool.Pool) error) Option {
	return func(o *options) { o.seedName, o.seed = name, seed }
}

// NewDB returns a pool on a fresh, migrated database that only this test
// uses. The pool is closed and the database dropped when the test ends.
func NewDB(t testing.TB, opts ...Option) *pgxpool.Pool {
	t.Helper()
	connString := newDatabase(t, opts)
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		t.Fatalf("commercetest: %v", err)
	}
	cfg.MaxConns = maxConns
	cfg.AfterConnect = pgxuuid.AfterConnect // as the server does
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("commercetest: open %s: %v", cfg.ConnConfig.Database, err)
	}
	// Cleanups run last-in first-out: the pool closes before the drop.
	t.Cleanup(pool.Close)
	return pool
}

// URL creates a fresh, migrated database like NewDB but returns its
// connection URL instead of a pool, for code under test that connects by
// itself (a server, a command). The database is dropped when the test ends,
// forcibly closing whatever connections remain.
func URL(t testing.TB, opts ...Option) string {
	t.Helper()
	return newDatabase(t, opts)
}

// newDatabase clones the right template into a new database, arranges for
// it to be dropped at the end of the test and returns its connection string.
func newDatabase(t testing.TB, opts []Option) string {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s := getServer(t)

	// Not t.Context(): it is cancelled before cleanups run, and a template
	// built here is shared with later tests.
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	tmpl, err := s.template(ctx)
	if err != nil {
		t.Fatalf("commercetest: %v", err)
	}
	if o.seed != nil {
		if tmpl, err = s.seededTemplate(ctx, o.seedName, o.seed); err != nil {
			t.Fatalf("commercetest: %v", err)
		}
	}
	name := fmt.Sprintf("test_%s_%d", s.prefix, s.nextDB.Add(1))
	if err := s.createDatabase(ctx, name, tmpl); err != nil {
		t.Fatalf("commercetest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.dropDatabase(ctx, name); err != nil {
			t.Errorf("commercetest: %v", err)
		}
	})
	connString, err := withDatabase(s.adminURL, name)
	if err != nil {
		t.Fatalf("commercetest: %v", err)
	}
	return connString
}

// getServer returns this process's server, starting it on first use, or
// ends the test when there is none.
func getServer(t testing.TB) *server {
	t.Helper()
	if !mainRunning {
		t.Fatalf("commercetest: the package's TestMain must call commercetest.Main(m), which stops the test server and drops the templates")
	}
	serverOnce.Do(func() { srv, srvErr = startServer() })
	if srvErr != nil {
		var explicit explicitServerError
		if errors.As(srvErr, &explicit) {
			// The developer named a server: not reaching it is a failure.
			t.Fatalf("commercetest: %v", srvErr)
		}
		unavailable(t, srvErr)
	}
	return srv
}

// explicitServerError marks a failure to use the server TEST_DATABASE_URL names.
type explicitServerError struct{ err error }

func (e explicitServerError) Error() string {
	return fmt.Sprintf("%s: %v", EnvURL, e.err)
}
func (e explicitServerError) Unwrap() error { return e.err }

// unavailable ends a test that cannot have a database: a skip on a developer
// machine without Postgres, a failure in CI where that is a broken setup.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if inCI() {
		t.Fatalf("commercetest: no test database, and CI=%s forbids skipping: %v", os.Getenv("CI"), err)
	}
	t.Skipf("commercetest: no test database, skipping (install the PostgreSQL server or set %s): %v", EnvURL, err)
}

func inCI() bool {
	v := os.Getenv("CI")
	return strings.EqualFold(v, "true") || v == "1"
}

func startServer() (*server, error) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	token := make([]byte, 4)
	rand.Read(token) // never fails (crypto/rand panics rather than return an error)
	s := &server{
		prefix: fmt.Sprintf("%d_%s", os.Getpid(), hex.EncodeToString(token)),
		seeds:  map[string]*seeded{},
	}

	if u := os.Getenv(EnvURL); u != "" {
		s.adminURL = u
		if err := s.connect(ctx); err != nil {
			return nil, explicitServerError{err}
		}
		return s, nil
	}

	dir, err := os.MkdirTemp("", "omnicanal-test-")
	if err != nil {
		return nil, err
	}
	c, err := pgcluster.Start(ctx, pgcluster.Options{
		DataDir: filepath.Join(dir, "data"),
		Fast:    true,
		// Parallel tests each hold up to maxConns connections.
		Settings: map[string]string{"max_connections": "300"},
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.cluster, s.tmpDir, s.adminURL = c, dir, c.URL("postgres")
	if err := s.connect(ctx); err != nil {
		s.stop() //nolint:errcheck // reporting the connection error instead
		return nil, err
	}
	return s, nil
}

func (s *server) connect(ctx context.Context) error {
	pool, err := pgxpool.New(ctx, s.adminURL)
	if err != nil {
		return err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return err
	}
	s.admin = pool
	return nil
}

// template returns the migrated template, building it on first use.
func (s *server) template(ctx context.Context) (string, error) {
	s.baseOnce.Do(func() {
		name := "omnicanal_tmpl_" + s.prefix
		if err := s.createDatabase(ctx, name, ""); err != nil {
			s.baseErr = err
			return
		}
		s.addTemplate(name)
		err := s.withPool(ctx, name, func(pool *pgxpool.Pool) error {
			_, err := migrations.Up(ctx, pool)
			return err
		})
		if err != nil {
			s.baseErr = fmt.Errorf("migrate template %s: %w", name, err)
			return
		}
		s.base = name
	})
	return s.base, s.baseErr
}

// seededTemplate returns the template seeded under name, cloning the
// migrated template and running seed on first use of that name.
func (s *server) seededTemplate(ctx context.Context, name string, seed func(context.Context, *pgxpool.Pool) error) (string, error) {
	s.seedsMu.Lock()
	e := s.seeds[name]
	if e == nil {
		e = &seeded{}
		s.seeds[name] = e
	}
	s.seedsMu.Unlock()

	e.once.Do(func() {
		base, err := s.template(ctx)
		if err != nil {
			e.err = err
			return
		}
		dbName := fmt.Sprintf("omnicanal_tmpl_%s_s%d", s.prefix, s.nextDB.Add(1))
		if e.err = s.createDatabase(ctx, dbName, base); e.err != nil {
			return
		}
		s.addTemplate(dbName)
		if err := s.withPool(ctx, dbName, func(pool *pgxpool.Pool) error { return seed(ctx, pool) }); err != nil {
			e.err = fmt.Errorf("seed %q: %w", name, err)
			return
		}
		e.name = dbName
	})
	return e.name, e.err
}

// withPool runs fn on a pool connected to database name, and closes the pool
// before returning: a database can serve as a template only while nobody is
// connected to it.
func (s *server) withPool(ctx context.Context, name string, fn func(*pgxpool.Pool) error) error {
	connString, err := withDatabase(s.adminURL, name)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, connString)
	if err != nil {
		return err
	}
	defer pool.Close()
	return fn(pool)
}

func (s *server) addTemplate(name string) {
	s.seedsMu.Lock()
	defer s.seedsMu.Unlock()
	s.templates = append(s.templates, name)
}

// createDatabase creates database name, as a copy of template unless empty.
func (s *server) createDatabase(ctx context.Context, name, template string) error {
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		sql += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	s.createMu.Lock()
	defer s.createMu.Unlock()
	if _, err := s.admin.Exec(ctx, sql); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// dropDatabase drops database name, ending any session still connected to it
// (a goroutine the test leaked, a server under test still shutting down).
func (s *server) dropDatabase(ctx context.Context, name string) error {
	if _, err := s.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// teardown drops the templates from a shared server, or stops the private
// one, which takes everything with it.
func teardown() error {
	if srv == nil {
		return nil
	}
	if srv.cluster != nil {
		return srv.stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	// Seeded templates are copies of the base one: drop them first.
	for i := len(srv.templates) - 1; i >= 0; i-- {
		errs = append(errs, srv.dropDatabase(ctx, srv.templates[i]))
	}
	srv.admin.Close()
	return errors.Join(errs...)
}

// stop stops the private cluster and removes its directory.
func (s *server) stop() error {
	if s.admin != nil {
		s.admin.Close()
	}
	err := s.cluster.Stop()
	if rmErr := os.RemoveAll(s.tmpDir); rmErr != nil {
		err = errors.Join(err, rmErr)
	}
	return err
}

// withDatabase returns connString with its database replaced by name. Both
// forms pgx accepts are handled: URLs and keyword/value strings.
func withDatabase(connString, name string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("%s: %w", EnvURL, err)
		}
		u.Path, u.RawPath = "/"+name, ""
		return u.String(), nil
	}
	// In keyword/value form a later keyword overrides an earlier one. Our
	// names need no quoting: they are made of [a-z0-9_].
	return connString + " dbname=" + name, nil
}
