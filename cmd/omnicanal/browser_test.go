package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicanal/omnicanal/commerce/commercetest"
	"github.com/omnicanal/omnicanal/commerce/demo"
)

// chromium returns the path of a Chromium binary. Without one the browser
// tests are skipped on a developer's machine and fail in CI, which installs
// the Debian package (.ci/run): a CI run must not pass by skipping them.
func chromium(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium"}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			candidates = append(candidates, p)
		}
	}
	for _, p := range candidates {
		if p == "" {
			continue
		}
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			return p
		}
	}
	if ci := os.Getenv("CI"); ci == "true" || ci == "1" {
		t.Fatal("no Chromium binary: CI must run the browser tests (apt-get install chromium, as .ci/run does)")
	}
	t.Skip("no Chromium binary (/usr/bin/chromium): the browser tests need the Debian package chromium; skipped outside CI")
	return ""
}

// serveDemo runs the server on a fresh database with the demo data, for a
// browser test to drive, and returns its configuration and base URL. The
// server stops when the test ends, after the test's deferred calls (the
// browser's close among them).
func serveDemo(t *testing.T) (Config, string) {
	t.Helper()
	cfg := testConfig(t, false)
	cfg.DatabaseURL = commercetest.URL(t, commercetest.WithSeed("demo", func(ctx context.Context, pool *pgxpool.Pool) error {
		_, err := demo.Seed(ctx, pool)
		return err
	}))
	base, stop := serve(t, cfg)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return cfg, base
}

// browser is a headless Chromium with one tab, for a test that drives a
// page of the server. Anything the page logs as an error (a CSP refusal,
// an exception) is kept as a problem: run's failures show them, and
// checkProblems fails the test on them.
type browser struct {
	t      *testing.T
	ctx    context.Context
	cancel func()

	mu       sync.Mutex
	problems []string
}

// newBrowser starts the Chromium at path (from chromium) with a window of
// width × height and a fresh profile; everything the test does in it must
// end within two minutes. The test closes it, before stopping the server
// the page talks to.
func newBrowser(t *testing.T, path string, width, height int) *browser {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(t.Context(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	ctx, cancelBrowser := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	b := &browser{t: t, ctx: ctx, cancel: func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc()
	}}
	// Starts the browser on the test's context: a step's shorter one would
	// take the browser down with it when it ends.
	if err := chromedp.Run(ctx); err != nil {
		b.cancel()
		t.Fatalf("starting %s: %v", path, err)
	}
	chromedp.ListenTarget(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			b.problems = append(b.problems, "exception: "+ev.ExceptionDetails.Error())
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.LevelError {
				b.problems = append(b.problems, fmt.Sprintf("%s: %s", ev.Entry.Source, ev.Entry.Text))
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				b.problems = append(b.problems, "console.error")
			}
		}
	})
	return b
}

// close stops the browser.
func (b *browser) close() { b.cancel() }

// run runs one step, failing the test with what the page shows and logged
// when the step fails or takes more than 20 s. The first step should
// include log.Enable(), for the page's log to reach the problems.
func (b *browser) run(what string, actions ...chromedp.Action) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Run(sctx, actions...); err != nil {
		var text string
		_ = chromedp.Run(b.ctx, chromedp.Evaluate(`document.body.innerText`, &text))
		b.mu.Lock()
		defer b.mu.Unlock()
		b.t.Fatalf("%s: %v\npage problems: %v\npage text:\n%s", what, err, b.problems, text)
	}
}

// poll waits up to 15 s for the expression js to be true in the page.
func poll(js string) chromedp.QueryAction {
	return chromedp.Poll(js, nil, chromedp.WithPollingTimeout(15*time.Second))
}

// screenshot saves a full-page PNG of the tab as name, in the directory
// the environment variable dirEnv names if set (to look at it after the
// run), else in the test's temporary one, and logs where.
func (b *browser) screenshot(name, dirEnv string) {
	b.t.Helper()
	dir := os.Getenv(dirEnv)
	if dir == "" {
		dir = b.t.TempDir()
	}
	var png []byte
	if err := chromedp.Run(b.ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		b.t.Fatal(err)
	}
	shot := filepath.Join(dir, name)
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", shot)
}

// checkProblems fails the test if the page reported any problem.
func (b *browser) checkProblems() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) > 0 {
		b.t.Errorf("the page reported problems: %v", b.problems)
	}
}
