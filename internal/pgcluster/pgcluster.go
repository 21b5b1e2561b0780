// Package pgcluster runs a private PostgreSQL server as a child process of the
// calling program: `omnicanal dev` keeps one under ./.data/postgres between
// runs, and tests start a throwaway one in a temporary directory.
//
// The server listens only on 127.0.0.1 and has no Unix socket, so it never
// collides with, or touches the files of, a system PostgreSQL. It is a direct
// child started with a parent-death signal, so it cannot outlive the program
// that started it, even when that program is killed.
package pgcluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Timeouts. Startup includes crash recovery after an unclean stop, which may
// take a while on a large dev cluster; shutdown is a fast shutdown, which
// only has to write a checkpoint.
const (
	readyTimeout = 30 * time.Second
	stopTimeout  = 15 * time.Second
)

// superuser is the role initdb creates; every URL connects as it.
const superuser = "postgres"

// Options configures Start.
type Options struct {
	// DataDir is the cluster data directory. initdb runs when it holds no
	// cluster yet (no PG_VERSION); otherwise the existing cluster is reused.
	DataDir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one.
	Port int
	// LogFile receives the server's output, appended across runs. The
	// default is DataDir + ".log": beside the data directory, not inside it,
	// so it survives re-creating the cluster and is easy to find.
	LogFile string
	// Fast trades durability for speed, for throwaway clusters: initdb
	// --no-sync, fsync=off, synchronous_commit=off, full_page_writes=off.
	Fast bool
	// Settings are extra server settings, passed as -c name=value
	// (e.g. "max_connections": "300"). They override the defaults above.
	Settings map[string]string
	// BinDir holds initdb and postgres; empty means FindBinDir.
	BinDir string
}

// Cluster is a running server started by Start. Stop it with Stop.
type Cluster struct {
	dataDir string
	logFile string
	port    int
	created bool

	proc *os.Process
	done chan struct{} // closed once the server has exited and been reaped
	// waitErr is the server's exit status; read it only after done is closed.
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// Start starts a server on opts.DataDir, creating the cluster first when the
// directory holds none, and returns once it accepts connections.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.DataDir == "" {
		return nil, errors.New("pgcluster: Options.DataDir is empty")
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	logFile := opts.LogFile
	if logFile == "" {
		logFile = dataDir + ".log"
	}
	if logFile, err = filepath.Abs(logFile); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	binDir := opts.BinDir
	if binDir == "" {
		if binDir, err = FindBinDir(); err != nil {
			return nil, err
		}
	}

	// Before touching the directory: a live server's files are not ours.
	if err := checkNotRunning(dataDir); err != nil {
		return nil, err
	}
	cred, err := prepareDataDir(dataDir)
	if err != nil {
		return nil, err
	}
	log, err := openLog(logFile, cred)
	if err != nil {
		return nil, err
	}
	// Every child got its own duplicate of the descriptor; ours is no
	// longer needed once they have been started.
	defer log.Close()

	c := &Cluster{dataDir: dataDir, logFile: logFile}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := initdb(ctx, binDir, dataDir, opts.Fast, cred, log); err != nil {
			return nil, err
		}
		c.created = true
	} else if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}

	// A port picked by the kernel is free when picked but may be taken
	// before postgres binds it; a few attempts make that race harmless.
	attempts := 1
	if opts.Port == 0 {
		attempts = 3
	}
	for attempt := 1; ; attempt++ {
		c.port = opts.Port
		if c.port == 0 {
			if c.port, err = freePort(); err != nil {
				return nil, err
			}
		}
		err = c.start(ctx, binDir, opts, cred, log)
		if err == nil {
			return c, nil
		}
		if attempt == attempts || !errors.Is(err, errPortInUse) {
			return nil, err
		}
	}
}

var errPortInUse = errors.New("port in use")

// start launches postgres on c.port and waits until it accepts connections.
// On failure the server is stopped and the error carries the log's tail.
func (c *Cluster) start(ctx context.Context, binDir string, opts Options, cred *syscall.Credential, log *os.File) error {
	settings := map[string]string{
		"listen_addresses": "127.0.0.1",
		"port":             strconv.Itoa(c.port),
		// No Unix socket: the default directory (/var/run/postgresql on
		// Debian) belongs to the system server and is not writable by us.
		"unix_socket_directories": "",
	}
	if opts.Fast {
		settings["fsync"] = "off"
		settings["synchronous_commit"] = "off"
		settings["full_page_writes"] = "off"
	}
	maps.Copy(settings, opts.Settings)
	args := []string{"-D", c.dataDir}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		args = append(args, "-c", k+"="+settings[k])
	}

	fmt.Fprintf(log, "\n%s on 127.0.0.1:%d at %s ---\n", startMarker, c.port, time.Now().Format(time.RFC3339))
	cmd := exec.Command(filepath.Join(binDir, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Dir = "/" // the caller's working directory may not be readable by cred's user
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	setDeathSignal(cmd.SysProcAttr)
	c.done = make(chan struct{})
	if err := c.launch(cmd); err != nil {
		return fmt.Errorf("pgcluster: start %s: %w", cmd.Path, err)
	}

	if err := c.waitReady(ctx); err != nil {
		c.stop() //nolint:errcheck // the readiness error is the one to report
		tail := logTail(c.logFile, 20)
		if strings.Contains(tail, "could not bind") || strings.Contains(tail, "Address already in use") {
			err = fmt.Errorf("%w: %w", errPortInUse, err)
		}
		return fmt.Errorf("pgcluster: postgres on %s did not become ready: %w\n--- last lines of %s ---\n%s", c.dataDir, err, c.logFile, tail)
	}
	return nil
}

// launch starts cmd from a goroutine locked to its OS thread, which stays
// alive until the server exits and reaps it.
//
// Why: Linux sends the parent-death signal when the *thread* that forked the
// child exits, not the process. Go threads come and go, so a plain cmd.Start
// could kill the server at any time when the runtime retires its thread.
// A locked goroutine keeps its thread; when it returns still locked, the
// runtime terminates that thread, but only after the server is gone.
func (c *Cluster) launch(cmd *exec.Cmd) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked, see above
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		c.proc = cmd.Process
		started <- nil
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	return <-started
}

// waitReady connects until the server answers, the server exits, ctx ends or
// readyTimeout passes. Connecting is the only reliable readiness check: the
// port opens before recovery finishes ("the database system is starting up").
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	var lastErr error
	for {
		attemptCtx, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(attemptCtx, c.URL("postgres"))
		cancelAttempt()
		if err == nil {
			return conn.Close(ctx)
		}
		lastErr = err
		select {
		case <-c.done:
			return fmt.Errorf("postgres exited: %v", c.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("%w (last connection error: %v)", ctx.Err(), lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Created reports whether this Start ran initdb, i.e. the cluster is new.
func (c *Cluster) Created() bool { return c.created }

// Port is the TCP port the server listens on, on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// PID is the process id of the postmaster.
func (c *Cluster) PID() int { return c.proc.Pid }

// DataDir is the absolute path of the cluster's data directory.
func (c *Cluster) DataDir() string { return c.dataDir }

// LogFile is the absolute path of the server log.
func (c *Cluster) LogFile() string { return c.logFile }

// URL is the connection URL of database on this server, as the superuser
// "postgres" (the server trusts every local connection).
func (c *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, c.port, url.PathEscape(database))
}

// EnsureDatabase creates database name unless it exists already.
func (c *Cluster) EnsureDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pgcluster: ensure database %q: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("pgcluster: ensure database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	// Another process may have created it between our check and CREATE.
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database
		return nil
	}
	if err != nil {
		return fmt.Errorf("pgcluster: create database %q: %w", name, err)
	}
	return nil
}

// Stop shuts the server down (fast shutdown: open sessions are ended, data is
// checkpointed) and waits for it to exit. After stopTimeout it kills it.
// Stop may be called more than once and after the server exited on its own,
// e.g. when Ctrl-C in a terminal sent SIGINT to the whole process group.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() { c.stopErr = c.stop() })
	return c.stopErr
}

func (c *Cluster) stop() error {
	// Signalling a process that has exited is harmless: os.Process knows
	// once it is reaped and never signals a recycled pid.
	if err := c.proc.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("pgcluster: stop postgres (pid %d): %w", c.proc.Pid, err)
	}
	select {
	case <-c.done:
	case <-time.After(stopTimeout):
		c.kill()
		return fmt.Errorf("pgcluster: postgres (pid %d) did not shut down within %s and was killed; see %s", c.proc.Pid, stopTimeout, c.logFile)
	}
	if c.waitErr != nil {
		return fmt.Errorf("pgcluster: postgres (pid %d) exited with %v; see %s", c.proc.Pid, c.waitErr, c.logFile)
	}
	return nil
}

// kill ends the server at once and waits until it is reaped. The next start
// runs crash recovery, which is fine: only used when things already failed.
func (c *Cluster) kill() {
	_ = c.proc.Kill() // fails only when the process is already gone
	<-c.done
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// initdbLocales are tried in order. C.UTF-8 gives UTF-8 character classes
// (upper/lower of accented letters) with byte-order collation, which is fast
// and the same on every machine; systems without that locale get plain C,
// which is still a UTF-8 database thanks to -E UTF8. A variable for tests.
var initdbLocales = []string{"C.UTF-8", "C"}

// initdb creates a cluster in dataDir with the first locale it accepts.
func initdb(ctx context.Context, binDir, dataDir string, fast bool, cred *syscall.Credential, log io.Writer) error {
	var out []byte
	var err error
	for _, locale := range initdbLocales {
		args := []string{"-D", dataDir, "-U", superuser, "-A", "trust", "-E", "UTF8", "--locale=" + locale}
		if fast {
			args = append(args, "--no-sync")
		}
		cmd := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"), args...)
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		setDeathSignal(cmd.SysProcAttr)
		var buf bytes.Buffer
		cmd.Stdout = io.MultiWriter(&buf, log)
		cmd.Stderr = cmd.Stdout
		fmt.Fprintf(log, "\n--- pgcluster: initdb %s at %s ---\n", strings.Join(args, " "), time.Now().Format(time.RFC3339))
		err = runLocked(cmd)
		out = buf.Bytes()
		// initdb checks the locale before writing anything, and removes
		// what it created on any failure, so a retry starts from an empty
		// directory again.
		if err == nil || !bytes.Contains(out, []byte("invalid locale")) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("pgcluster: initdb %s: %w\n%s", dataDir, err, lastLines(string(out), 20))
	}
	return nil
}

// runLocked runs cmd from a thread that lives until cmd exits, so that its
// parent-death signal fires only if our process dies (see launch).
func runLocked(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		done <- cmd.Run()
	}()
	return <-done
}

// checkNotRunning fails when a live server already runs on dataDir (a second
// `omnicanal dev`, say). A stale postmaster.pid left by a crash is left to
// postgres, which recognises and replaces it, except in one case it cannot
// tell: the recorded pid now belongs to another process of the same user.
func checkNotRunning(dataDir string) error {
	pidFile := filepath.Join(dataDir, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return nil // unreadable: postgres decides
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return nil // stale: postgres replaces it
	}
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		return nil // cannot tell (no /proc, not ours to inspect): postgres decides
	}
	// A postmaster runs with its data directory as working directory.
	realData, _ := filepath.EvalSymlinks(dataDir)
	if cwd == dataDir || cwd == realData {
		port := "?"
		if len(lines) > 3 {
			port = strings.TrimSpace(lines[3])
		}
		return fmt.Errorf("pgcluster: a postgres server (pid %d, port %s) is already running on %s; stop it (or the program that started it) first", pid, port, dataDir)
	}
	// The pid was recycled by an unrelated process. Postgres would take it
	// for a live server and refuse to start, so remove the stale file.
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("pgcluster: remove stale %s: %w", pidFile, err)
	}
	return nil
}

// openLog opens the server log for appending, owned by the server's user so
// the file stays usable if a later run is not root.
func openLog(path string, cred *syscall.Credential) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: open log: %w", err)
	}
	if cred != nil {
		if err := f.Chown(int(cred.Uid), int(cred.Gid)); err != nil {
			f.Close()
			return nil, fmt.Errorf("pgcluster: chown log: %w", err)
		}
	}
	return f, nil
}

// startMarker begins the line written to the log before each server start,
// so that a reader (and logTail) can tell runs apart in the appended log.
const startMarker = "--- pgcluster: starting postgres"

// logTail returns the last n lines of the log file written since the last
// server start, for error messages.
func logTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	defer f.Close()
	const maxTail = 16 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > maxTail {
		if _, err := f.Seek(-maxTail, io.SeekEnd); err != nil {
			return fmt.Sprintf("(cannot read log: %v)", err)
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	if i := bytes.LastIndex(b, []byte(startMarker)); i >= 0 {
		b = b[i:]
	}
	return lastLines(string(b), n)
}

func lastLines(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
