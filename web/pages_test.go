package web

import (
	"bytes"
	"io/fs"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// The demo pages (kiosk/, pickup/) share the base stylesheet and the two
// scripts of shared/, loaded before the page's own.
var (
	sharedStyles  = []string{"/shared/base.css"}
	sharedScripts = []string{"/shared/graphql.js", "/shared/page.js"}
)

// strictPage GETs the page at target from Static and checks that it runs
// under the strict policy: served with staticCSP, no inline script, style
// element, style attribute or event handler, and every script and linked
// file a same-origin file that Static serves. Every script is deferred, so
// that they run in document order once the page is parsed. It returns the
// page's scripts and stylesheets in document order.
func strictPage(t *testing.T, target string) (scripts, styles []string) {
	t.Helper()
	rec := get(t, Static(), target, nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Header().Get("Content-Type"))
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
			src := attr(n, "src")
			if src == "" {
				t.Error("inline <script>; CSP forbids it")
			}
			if !hasAttr(n, "defer") {
				t.Errorf("<script src=%q> is not deferred", src)
			}
			scripts = append(scripts, src)
			refs = append(refs, src)
		case "link":
			if attr(n, "rel") == "stylesheet" {
				styles = append(styles, attr(n, "href"))
			}
			refs = append(refs, attr(n, "href"))
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
	return scripts, styles
}

// pageScript returns the embedded script at name (as in "kiosk/kiosk.js")
// after checking that it builds the page with DOM methods, never from HTML
// strings (a product title is data, not markup), and does not evaluate
// code, and that it holds every one of want.
func pageScript(t *testing.T, name string, want ...string) []byte {
	t.Helper()
	js, err := fs.ReadFile(staticFS, name)
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function`).Find(js); m != nil {
		t.Errorf("%s uses %s", name, m)
	}
	for _, w := range want {
		if !bytes.Contains(js, []byte(w)) {
			t.Errorf("%s lacks %q", name, w)
		}
	}
	return js
}

// The shared scripts speak graphql-transport-ws (the handshake with the
// page's headers as payload, pings, reconnection) and are defined once,
// as one global each, for the pages to use.
func TestSharedScripts(t *testing.T) {
	pageScript(t, "shared/graphql.js", "window.OmnicanalGraphQL =", "graphql-transport-ws", "connection_init", "connection_ack",
		"'subscribe'", "'pong'", "'complete'", "'application/json'", "extensions.code")
	pageScript(t, "shared/page.js", "window.OmnicanalPage =", "textContent")
}

// checkLoads reports unless the page loads the shared files first, then
// its own, exactly.
func checkLoads(t *testing.T, kind string, got, shared []string, own string) {
	t.Helper()
	if want := append(slices.Clone(shared), own); !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", kind, got, want)
	}
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}
