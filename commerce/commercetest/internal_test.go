package commercetest

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// recordingTB records how a test was ended, and ends only its goroutine
// (runtime.Goexit, as the real Fatalf and Skipf do): see endedBy.
type recordingTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recordingTB) Skipf(format string, args ...any) {
	r.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// endedBy runs fn on a recordingTB in its own goroutine and returns the record.
func endedBy(fn func(testing.TB)) *recordingTB {
	r := &recordingTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r
}

func TestUnavailableSkipsExceptInCI(t *testing.T) {
	for _, tc := range []struct {
		ci       string
		wantFail bool
	}{
		{"", false},
		{"false", false},
		{"0", false},
		{"true", true},
		{"TRUE", true},
		{"1", true},
	} {
		t.Setenv("CI", tc.ci)
		r := endedBy(func(tb testing.TB) { unavailable(tb, errors.New("no binaries")) })
		if tc.wantFail && (r.fatal == "" || r.skip != "") {
			t.Errorf("CI=%q: fatal %q, skip %q; want a failure", tc.ci, r.fatal, r.skip)
		}
		if !tc.wantFail && (r.skip == "" || r.fatal != "") {
			t.Errorf("CI=%q: fatal %q, skip %q; want a skip", tc.ci, r.fatal, r.skip)
		}
	}
}

func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://u:p@db:5432/postgres?sslmode=disable", "postgres://u:p@db:5432/test_1?sslmode=disable"},
		{"postgresql://u@db", "postgresql://u@db/test_1"},
		{"host=db user=u dbname=postgres", "host=db user=u dbname=postgres dbname=test_1"},
	} {
		got, err := withDatabase(tc.in, "test_1")
		if err != nil || got != tc.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNewDBWithoutMainFails(t *testing.T) {
	saved := mainRunning
	mainRunning = false
	t.Cleanup(func() { mainRunning = saved })

	r := endedBy(func(tb testing.TB) { NewDB(tb) })
	if !strings.Contains(r.fatal, "commercetest.Main") {
		t.Fatalf("NewDB without Main: fatal %q, skip %q; want a failure naming commercetest.Main", r.fatal, r.skip)
	}
}
