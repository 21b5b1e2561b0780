package web

import (
	"bytes"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// The kiosk page is served at /kiosk/ under the strict policy: every
// script and stylesheet is a same-origin file, embedded, and there is no
// inline script, style element or style attribute for the policy to
// refuse. (The browser test in cmd/omnicanal runs it.)
func TestKioskPage(t *testing.T) {
	rec := get(t, Static(), "/kiosk/", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /kiosk/: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	if csp := rec.Header().Get("Content-Security-Policy"); csp != staticCSP || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP %q", csp)
	}
	doc, err := html.Parse(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		if attr(n, "style") != "" {
			t.Errorf("<%s> has a style attribute; CSP forbids it", n.Data)
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s> has an inline handler %s; CSP forbids it", n.Data, a.Key)
			}
		}
		switch n.Data {
		case "style":
			t.Error("inline <style>; CSP forbids it")
		case "script":
			if attr(n, "src") == "" {
				t.Error("inline <script>; CSP forbids it")
			}
			refs = append(refs, attr(n, "src"))
		case "link":
			refs = append(refs, attr(n, "href"))
		}
	}
	for _, want := range []string{"/kiosk/kiosk.js", "/kiosk/kiosk.css"} {
		if !strings.Contains(strings.Join(refs, " "), want) {
			t.Errorf("the page does not load %s", want)
		}
	}
	for _, ref := range refs {
		if !strings.HasPrefix(ref, "/") {
			t.Errorf("asset %q is not a same-origin absolute path", ref)
			continue
		}
		if rec := get(t, Static(), ref, nil); rec.Code != http.StatusOK {
			t.Errorf("GET %s: %d", ref, rec.Code)
		}
	}
	// The script builds the page with DOM methods, never from HTML strings
	// (a product title is data, not markup), and does not evaluate code.
	js, err := fs.ReadFile(staticFS, "kiosk/kiosk.js")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function`).Find(js); m != nil {
		t.Errorf("kiosk.js uses %s", m)
	}
	for _, want := range []string{"graphql-transport-ws", "connection_init", "cartUpdated", "cartResume", "quantityAvailableHere", "pk_demo_kiosk_paris"} {
		if !bytes.Contains(js, []byte(want)) {
			t.Errorf("kiosk.js lacks %q", want)
		}
	}
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
