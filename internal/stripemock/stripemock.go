// Package stripemock runs Stripe's official API mock, stripe-mock, for
// tests that want the real request validation of the Stripe API without the
// network. stripe-mock is stateless: it checks every request against
// Stripe's OpenAPI spec and answers with fixtures, echoing some of the
// request's parameters (amount, currency, ...) but not all (metadata).
//
// The binary is looked up on PATH, then in $(go env GOPATH)/bin, where
// `go install github.com/stripe/stripe-mock@v0.203.0` puts it (.ci/run does).
// When it is missing a test is skipped, except with CI=true (or 1), where it
// fails: a broken CI setup must not pass silently.
package stripemock

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Version is the stripe-mock release .ci/run installs.
const Version = "v0.203.0"

// TestKey is a test-mode secret key stripe-mock accepts (it only checks
// the shape of the key).
const TestKey = "sk_test_123"

// Server is one running stripe-mock process.
type Server struct {
	// URL is the base URL of its plain-HTTP API, e.g. http://127.0.0.1:41234.
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
}

// ErrNotInstalled is returned by Run when no stripe-mock binary is found.
var ErrNotInstalled = errors.New("stripe-mock is not installed (go install github.com/stripe/stripe-mock@" + Version + ")")

// Binary finds the stripe-mock executable.
func Binary() (string, error) {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		out, err := exec.Command("go", "env", "GOPATH").Output()
		if err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "stripe-mock")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", ErrNotInstalled
}

var listening = regexp.MustCompile(`Listening for HTTP at address: (\S+)`)

// Run starts stripe-mock on free loopback ports and waits until it answers.
// The caller must Close it. Tests use Start; Run suits a TestMain that
// shares one process across a package's tests.
func Run() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	// Both listeners on port 0: the system picks free ports, so parallel
	// test processes never collide; the HTTP address is read back from
	// stripe-mock's output.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("stripemock: start %s: %w", bin, err)
	}
	s := &Server{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		close(s.done)
	}()
	select {
	case a := <-addr:
		s.URL = "http://" + a
	case <-s.done:
		return nil, errors.New("stripemock: stripe-mock exited before listening")
	case <-time.After(20 * time.Second):
		s.Close()
		return nil, errors.New("stripemock: stripe-mock did not start listening within 20s")
	}
	if err := s.wait(10 * time.Second); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// wait polls until the HTTP API answers.
func (s *Server) wait(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	host := strings.TrimPrefix(s.URL, "http://")
	for {
		c, err := net.DialTimeout("tcp", host, time.Second)
		if err == nil {
			_ = c.Close()
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1/balance", nil)
			req.Header.Set("Authorization", "Bearer "+TestKey)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				_ = resp.Body.Close()
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stripemock: %s not answering after %s: %v", s.URL, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Close stops the process and waits for it to exit.
func (s *Server) Close() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
	}
}

// Start runs a stripe-mock for one test (stopped at its cleanup) and
// returns its base URL. Without the binary the test is skipped, or fails
// when CI is set.
func Start(t testing.TB) string {
	t.Helper()
	s, err := Run()
	if err != nil {
		Unavailable(t, err)
		return ""
	}
	t.Cleanup(s.Close)
	return s.URL
}

// Unavailable ends a test that cannot have stripe-mock: a skip on a
// developer machine, a failure under CI=true.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if InCI() {
		t.Fatalf("stripemock: %v, and CI=%s forbids skipping", err, os.Getenv("CI"))
		return
	}
	t.Skipf("stripemock: skipping: %v", err)
}

// InCI reports whether CI is "true" or "1".
func InCI() bool {
	v := os.Getenv("CI")
	return strings.EqualFold(v, "true") || v == "1"
}
