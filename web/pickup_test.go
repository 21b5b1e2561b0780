package web

import (
	"bytes"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// The pickup desk page is served at /pickup/ under the strict policy, like
// the kiosk: same-origin embedded assets only, nothing inline. (The
// browser test in cmd/omnicanal runs it.)
func TestPickupDeskPage(t *testing.T) {
	rec := get(t, Static(), "/pickup/", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /pickup/: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	if csp := rec.Header().Get("Content-Security-Policy"); csp != staticCSP {
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
	for _, want := range []string{"/pickup/pickup.js", "/pickup/pickup.css"} {
		if !strings.Contains(strings.Join(refs, " "), want) {
			t.Errorf("the page does not load %s", want)
		}
	}
	for _, ref := range refs {
		if rec := get(t, Static(), ref, nil); !strings.HasPrefix(ref, "/") || rec.Code != http.StatusOK {
			t.Errorf("GET %s: %d", ref, rec.Code)
		}
	}
	js, err := fs.ReadFile(staticFS, "pickup/pickup.js")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function`).Find(js); m != nil {
		t.Errorf("pickup.js uses %s", m)
	}
	for _, want := range []string{"graphql-transport-ws", "connection_init", "Authorization", "staffSignIn", "staffMe",
		"pickupQueueUpdated", "pickupOrderReady", "pickupOrderHandOver"} {
		if !bytes.Contains(js, []byte(want)) {
			t.Errorf("pickup.js lacks %q", want)
		}
	}
}

// The QR image of a pickup code is the code itself, for the desk's scanner
// to type; anything that is not a code's shape is refused.
func TestPickupQR(t *testing.T) {
	rec := get(t, PickupQR(), PickupQRPath+"?code=abc-234", nil)
	checkQR(t, rec, "ABC234")
	for _, target := range []string{PickupQRPath, PickupQRPath + "?code=https://evil.example", PickupQRPath + "?code=ABC23O",
		PickupQRPath + "?code=ABC2345"} {
		if rec := get(t, PickupQR(), target, nil); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d", target, rec.Code)
		}
	}
}
