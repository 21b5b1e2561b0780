package stripemock

import (
	"errors"
	"net/http"
	"testing"
)

func TestRunServesAndCloseStops(t *testing.T) {
	s, err := Run()
	if err != nil {
		Unavailable(t, err)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1/payment_intents/pi_42", nil)
	req.Header.Set("Authorization", "Bearer "+TestKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET intent = %d", res.StatusCode)
	}
	s.Close()
	select {
	case <-s.done:
	default:
		t.Error("stripe-mock still running after Close")
	}
	if _, err := http.Get(s.URL + "/v1/balance"); err == nil {
		t.Error("still answering after Close")
	}
}

func TestBinaryMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("GOPATH", t.TempDir())
	if _, err := Binary(); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("Binary() = %v, want ErrNotInstalled", err)
	}
	if _, err := Run(); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("Run() = %v, want ErrNotInstalled", err)
	}
}

// fakeT records how Unavailable ends a test.
type fakeT struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Skipf(string, ...any)  { f.skipped = true }
func (f *fakeT) Fatalf(string, ...any) { f.failed = true }

func TestUnavailableSkipsExceptInCI(t *testing.T) {
	for _, tc := range []struct {
		ci         string
		skip, fail bool
	}{{"", true, false}, {"false", true, false}, {"true", false, true}, {"1", false, true}} {
		t.Setenv("CI", tc.ci)
		f := &fakeT{}
		Unavailable(f, ErrNotInstalled)
		if f.skipped != tc.skip || f.failed != tc.fail {
			t.Errorf("CI=%q: skipped %v failed %v", tc.ci, f.skipped, f.failed)
		}
	}
}
