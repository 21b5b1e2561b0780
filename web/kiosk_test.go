package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The kiosk page is served at /kiosk/ under the strict policy: every
// script and stylesheet is a same-origin file, embedded, and there is no
// inline script, style element or style attribute for the policy to
// refuse. Its GraphQL client is the shared one. (The browser test in
// cmd/omnicanal runs it.)
func TestKioskPage(t *testing.T) {
	scripts, styles := strictPage(t, "/kiosk/")
	checkLoads(t, "scripts", scripts, sharedScripts, "/kiosk/kiosk.js")
	checkLoads(t, "stylesheets", styles, sharedStyles, "/kiosk/kiosk.css")
	pageScript(t, "kiosk/kiosk.js", "window.OmnicanalGraphQL", "cartUpdated", "cartResume", "quantityAvailableHere", "pk_demo_kiosk_paris")
}

// /kiosk without the slash redirects to the page, keeping the code; a
// folder without a page stays hidden.
func TestKioskRedirectKeepsTheQuery(t *testing.T) {
	rec := get(t, Static(), "/kiosk?code=ABCD2345", nil)
	if rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/kiosk/?code=ABCD2345" {
		t.Fatalf("GET /kiosk: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := get(t, Static(), "/kiosk/?code=ABCD2345", nil); rec.Code != http.StatusOK {
		t.Fatalf("GET /kiosk/?code=…: %d", rec.Code)
	}
}

// The QR image is that of the kiosk URL of the code on this server.
func TestHandoffQR(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, HandoffQRPath+"?code=abcd-2345", nil)
	req.Host = "kiosk.example:8080"
	rec := httptest.NewRecorder()
	HandoffQR().ServeHTTP(rec, req)
	checkQR(t, rec, "http://kiosk.example:8080/kiosk/?code=ABCD2345")

	// Behind a TLS proxy, an https URL.
	req = httptest.NewRequest(http.MethodGet, HandoffQRPath+"?code=ABCD2345", nil)
	req.Host = "shop.example"
	req.Header.Set("X-Forwarded-Proto", "https")
	rec = httptest.NewRecorder()
	HandoffQR().ServeHTTP(rec, req)
	checkQR(t, rec, "https://shop.example/kiosk/?code=ABCD2345")

	// Anything but a code is refused: the route makes QR codes of kiosk
	// URLs only.
	for _, target := range []string{HandoffQRPath, HandoffQRPath + "?code=https://evil.example", HandoffQRPath + "?code=ABCD234O"} {
		if rec := get(t, HandoffQR(), target, nil); rec.Code != http.StatusBadRequest {
			t.Errorf("GET %s: %d", target, rec.Code)
		}
	}
}
