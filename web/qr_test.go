package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/omnicanal/omnicanal/internal/qr"
)

// checkQR fails the test unless rec is the SVG QR code of text, served
// uncached under qrCSP.
func checkQR(t *testing.T, rec *httptest.ResponseRecorder, text string) {
	t.Helper()
	h := rec.Header()
	if rec.Code != http.StatusOK || h.Get("Content-Type") != "image/svg+xml" || h.Get("Cache-Control") != "no-store" ||
		h.Get("Content-Security-Policy") != qrCSP || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("%d %v", rec.Code, h)
	}
	want, err := qr.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.Body.Bytes(), want.SVG(4)) {
		t.Fatalf("not the QR code of %q:\n%s", text, rec.Body)
	}
}

// Both QR routes only read: HEAD gives the headers without the image, and
// anything else but GET is refused.
func TestQRMethods(t *testing.T) {
	for _, tt := range []struct {
		handler http.Handler
		target  string
	}{
		{HandoffQR(), HandoffQRPath + "?code=ABCD2345"},
		{PickupQR(), PickupQRPath + "?code=ABC234"},
	} {
		rec := httptest.NewRecorder()
		tt.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, tt.target, nil))
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/svg+xml" || rec.Body.Len() != 0 {
			t.Errorf("HEAD %s: %d %v, %d bytes", tt.target, rec.Code, rec.Header(), rec.Body.Len())
		}
		rec = httptest.NewRecorder()
		tt.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, tt.target, nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("POST %s: %d %v", tt.target, rec.Code, rec.Header())
		}
	}
}
