package pgcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// startCluster starts a fast cluster on dataDir, skipping the test when no
// server binaries are installed (outside CI) and stopping it at cleanup.
func startCluster(t *testing.T, dataDir string) *Cluster {
	t.Helper()
	requireBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{DataDir: dataDir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return c
}

// requireBinaries skips the test when no server is installed, except in CI
// where a missing server must fail the run rather than silently skip it.
func requireBinaries(t *testing.T) {
	t.Helper()
	if _, err := FindBinDir(); err != nil {
		if ci := os.Getenv("CI"); ci == "true" || ci == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

func connect(t *testing.T, c *Cluster, db string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), c.URL(db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// serverProcesses returns the live processes whose working directory is
// dataDir: the postmaster and all its children chdir there.
func serverProcesses(t *testing.T, dataDir string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("cannot list processes: %v", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// Zombies have no cwd: they are dead, merely not reaped yet.
		if cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd")); err == nil && cwd == dataDir {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitGone waits until no process runs in dataDir and pid is gone (or a zombie).
func waitGone(t *testing.T, dataDir string, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := serverProcesses(t, dataDir)
		if len(left) == 0 && !alive(pid) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server processes still running in %s after %s: %v (postmaster %d alive: %v)", dataDir, within, left, pid, alive(pid))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// Format: "pid (comm) S ...", where comm may contain spaces.
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}

func TestStartStopRestartKeepsData(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")

	c := startCluster(t, dataDir)
	if !c.Created() {
		t.Fatal("first Start on an empty directory: Created() = false, want true")
	}
	if c.Port() == 0 || !strings.Contains(c.URL("x"), fmt.Sprintf(":%d/x", c.Port())) {
		t.Fatalf("Port() = %d, URL = %s", c.Port(), c.URL("x"))
	}
	ctx := context.Background()
	if _, err := connect(t, c, "postgres").Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('run 1')"); err != nil {
		t.Fatal(err)
	}
	var encoding string
	if err := connect(t, c, "postgres").QueryRow(ctx, "SHOW server_encoding").Scan(&encoding); err != nil || encoding != "UTF8" {
		t.Errorf("server_encoding = %q, %v; want UTF8", encoding, err)
	}

	pid := c.PID()
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	waitGone(t, dataDir, pid, time.Second) // Stop waits, so it must already be gone
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("postmaster.pid after a clean stop: %v, want it removed", err)
	}
	if _, err := os.Stat(dataDir + ".log"); err != nil {
		t.Errorf("default log file beside the data dir: %v", err)
	}

	c2 := startCluster(t, dataDir)
	if c2.Created() {
		t.Error("second Start on an existing cluster: Created() = true, want false")
	}
	var v string
	if err := connect(t, c2, "postgres").QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != "run 1" {
		t.Fatalf("row from run 1: %q, %v", v, err)
	}
}

func TestSecondStartOnLiveClusterFails(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	startCluster(t, dataDir)

	_, err := Start(context.Background(), Options{DataDir: dataDir, Fast: true})
	if err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("Start on a live cluster: %v, want an 'already running' error", err)
	}
}

func TestStalePidFileDoesNotBlock(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	requireBinaries(t)
	// Not startCluster: its cleanup would rightly report the kill below.
	c, err := Start(context.Background(), Options{DataDir: dataDir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	// Fast clusters commit asynchronously; this commit must be in the WAL
	// before the crash to be recovered after it.
	conn := connect(t, c, "postgres")
	if _, err := conn.Exec(context.Background(), "SET synchronous_commit = on; CREATE TABLE survived ()"); err != nil {
		t.Fatal(err)
	}

	// A crash: the postmaster dies without cleaning up.
	pid := c.PID()
	c.kill()
	waitGone(t, dataDir, pid, 10*time.Second)
	if _, err := os.Stat(filepath.Join(dataDir, "postmaster.pid")); err != nil {
		t.Fatalf("expected a stale postmaster.pid after SIGKILL: %v", err)
	}
	c2 := startCluster(t, dataDir)
	if _, err := connect(t, c2, "postgres").Exec(context.Background(), "SELECT FROM survived"); err != nil {
		t.Fatalf("after crash recovery: %v", err)
	}
	if err := c2.Stop(); err != nil {
		t.Fatal(err)
	}

	// A stale file whose pid was recycled by a live, unrelated process
	// (this test binary stands in for it).
	pidFile := filepath.Join(dataDir, "postmaster.pid")
	if err := os.WriteFile(pidFile, fmt.Appendf(nil, "%d\n%s\n0\n5432\n", os.Getpid(), dataDir), 0o600); err != nil {
		t.Fatal(err)
	}
	startCluster(t, dataDir)
}

func TestEnsureDatabase(t *testing.T) {
	c := startCluster(t, filepath.Join(t.TempDir(), "data"))
	ctx := context.Background()
	for range 2 { // the second call finds it and must not fail
		if err := c.EnsureDatabase(ctx, "omnicanal-dev"); err != nil {
			t.Fatal(err)
		}
	}
	var db string
	if err := connect(t, c, "omnicanal-dev").QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil || db != "omnicanal-dev" {
		t.Fatalf("current_database() = %q, %v", db, err)
	}
}

// TestNoOrphanWhenParentKilled starts a cluster in a child process (this test
// binary, see TestHelperProcess), kills that child with SIGKILL and checks
// that the server goes away by itself.
func TestNoOrphanWhenParentKilled(t *testing.T) {
	requireBinaries(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "PGCLUSTER_HELPER_DATADIR="+dataDir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // already dead on the normal path

	var pid int
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "postmaster %d", &pid); err == nil {
			break
		}
	}
	if pid == 0 {
		t.Fatalf("helper did not report a postmaster pid: %v", sc.Err())
	}
	if !alive(pid) {
		t.Fatalf("postmaster %d not running while its parent lives", pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // "signal: killed", expected
	waitGone(t, dataDir, pid, 15*time.Second)
}

// TestHelperProcess is not a real test: TestNoOrphanWhenParentKilled runs it
// in a child process that starts a cluster and then waits to be killed.
func TestHelperProcess(t *testing.T) {
	dataDir := os.Getenv("PGCLUSTER_HELPER_DATADIR")
	if dataDir == "" {
		t.Skip("helper process for TestNoOrphanWhenParentKilled")
	}
	c, err := Start(context.Background(), Options{DataDir: dataDir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("postmaster %d\n", c.PID())
	time.Sleep(time.Minute)
	t.Fatal("helper was not killed")
}

func TestFindBinDir(t *testing.T) {
	dir, err := FindBinDir()
	if errors.Is(err, ErrNoBinaries) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !hasServer(dir) {
		t.Fatalf("FindBinDir() = %s, which lacks initdb or postgres", dir)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"16", "9.6", 1},
		{"9.6", "10", -1},
		{"15", "15", 0},
		{"9.6", "9.5", 1},
		{"9", "9.6", -1},
		{"latest", "9", -1},
	} {
		if got := compareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestStartWithoutDataDir(t *testing.T) {
	if _, err := Start(context.Background(), Options{}); err == nil {
		t.Fatal("Start with no DataDir succeeded")
	}
}

func TestInitdbFallsBackToCLocale(t *testing.T) {
	requireBinaries(t)
	saved := initdbLocales
	initdbLocales = []string{"xx_NOWHERE.UTF-8", "C"}
	t.Cleanup(func() { initdbLocales = saved })

	c := startCluster(t, filepath.Join(t.TempDir(), "data"))
	var collate, encoding string
	err := connect(t, c, "postgres").QueryRow(context.Background(),
		"SELECT datcollate, pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()").Scan(&collate, &encoding)
	if err != nil {
		t.Fatal(err)
	}
	if collate != "C" || encoding != "UTF8" {
		t.Fatalf("collate %q, encoding %q; want C, UTF8", collate, encoding)
	}
}

// TestStopAfterCtrlC: Ctrl-C in a terminal sends SIGINT to the whole process
// group, so the server may be gone before Stop runs; Stop must still succeed.
func TestStopAfterCtrlC(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	c := startCluster(t, dataDir)
	if err := syscall.Kill(c.PID(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("server did not exit on SIGINT")
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop after SIGINT: %v", err)
	}
	waitGone(t, dataDir, c.PID(), time.Second)
}

func TestFailedStartReportsLogAndLeavesNothingRunning(t *testing.T) {
	requireBinaries(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	_, err := Start(context.Background(), Options{
		DataDir:  dataDir,
		Fast:     true,
		Settings: map[string]string{"shared_buffers": "lots"},
	})
	if err == nil {
		t.Fatal("Start with an invalid setting succeeded")
	}
	t.Log(err)
	// The server's own complaint, from the log, must be in the error.
	if !strings.Contains(err.Error(), `"shared_buffers"`) {
		t.Fatalf("error lacks the server log's explanation: %v", err)
	}
	if left := serverProcesses(t, dataDir); len(left) > 0 {
		t.Fatalf("processes left running in %s: %v", dataDir, left)
	}
}
