package web

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func get(t *testing.T, h http.Handler, target string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestStaticIndex(t *testing.T) {
	for _, target := range []string{"/", "/index.html"} {
		t.Run(target, func(t *testing.T) {
			rec := get(t, Static(), target, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: status %d, want 200", target, rec.Code)
			}
			h := rec.Header()
			if got := h.Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q, want text/html; charset=utf-8", got)
			}
			if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			if got := h.Get("Cache-Control"); got != shortCache {
				t.Errorf("Cache-Control = %q, want %q", got, shortCache)
			}
			if h.Get("Content-Security-Policy") == "" {
				t.Error("no Content-Security-Policy")
			}
			body := rec.Body.String()
			for _, want := range []string{`href="/graphiql"`, `href="/healthz"`, `href="/readyz"`, `href="/admin/"`, "X-Channel-Key: pk_demo_web_eu"} {
				if !strings.Contains(body, want) {
					t.Errorf("index.html lacks %q", want)
				}
			}
		})
	}
}

func TestStaticHeadersAndCaching(t *testing.T) {
	tests := []struct {
		target      string
		contentType string
		cache       string
	}{
		{"/assets/site.css", "text/css; charset=utf-8", shortCache},
		{"/assets/graphiql-mount.js", "text/javascript; charset=utf-8", shortCache},
		{"/vendor/graphiql@3.8.3/graphiql.min.js", "text/javascript; charset=utf-8", immutableCache},
		{"/vendor/react@18.3.1/react.production.min.js", "text/javascript; charset=utf-8", immutableCache},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rec := get(t, Static(), tt.target, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", rec.Code)
			}
			if got := rec.Header().Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
			}
			if got := rec.Header().Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control = %q, want %q", got, tt.cache)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}

			// The ETag must make a revalidation cheap.
			etag := rec.Header().Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			again := get(t, Static(), tt.target, map[string]string{"If-None-Match": etag})
			if again.Code != http.StatusNotModified {
				t.Errorf("If-None-Match with the ETag: status %d, want 304", again.Code)
			}
		})
	}
}

func TestStaticNotFound(t *testing.T) {
	// Directories are not listed, and paths cannot climb out of the static tree.
	for _, target := range []string{"/nope.html", "/vendor/", "/vendor", "/assets/", "/../static.go", "/static/index.html"} {
		if rec := get(t, Static(), target, nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", target, rec.Code)
		}
	}
}

func TestStaticRejectsWrites(t *testing.T) {
	rec := httptest.NewRecorder()
	Static().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: status %d, want 405", rec.Code)
	}
}

func TestGraphiQLPage(t *testing.T) {
	// A hostile value: if it were not escaped it would close the config script block and
	// inject markup, or break the JSON.
	headers := map[string]string{
		"X-Channel-Key": "pk_demo_web_eu",
		"X-Evil":        `</script><script>alert("x")</script> 'q' "dq" & <!--`,
	}
	rec := get(t, GraphiQL("/graphql", headers), "/graphiql", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", rec.Code)
	}
	h := rec.Header()
	if got := h.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "connect-src 'self';", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if got := directive(csp, "script-src"); got != "'self'" {
		t.Errorf("CSP script-src = %q, want only 'self'", got)
	}

	body := rec.Body.String()
	if strings.Contains(body, `<script>alert(`) {
		t.Fatal("header value was injected into the page unescaped")
	}
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}

	var configJSON string
	var scripts, refs []string
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "script":
			if attr(n, "type") == "application/json" {
				if n.FirstChild != nil {
					configJSON = n.FirstChild.Data
				}
				continue
			}
			src := attr(n, "src")
			if src == "" {
				t.Errorf("inline script found; CSP forbids it")
			}
			scripts = append(scripts, src)
			refs = append(refs, src)
		case "link":
			refs = append(refs, attr(n, "href"))
		}
	}

	// The endpoint and the headers round-trip exactly through the JSON block.
	var got graphiqlConfig
	if err := json.Unmarshal([]byte(configJSON), &got); err != nil {
		t.Fatalf("config block is not JSON: %v\n%s", err, configJSON)
	}
	want := graphiqlConfig{Endpoint: "/graphql", Headers: headers}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config = %+v, want %+v", got, want)
	}

	// The mount script must come after GraphiQL and React, which it uses as globals.
	wantScripts := []string{
		"/vendor/react@18.3.1/react.production.min.js",
		"/vendor/react-dom@18.3.1/react-dom.production.min.js",
		"/vendor/graphiql@3.8.3/graphiql.min.js",
		"/assets/graphiql-mount.js",
	}
	if !reflect.DeepEqual(scripts, wantScripts) {
		t.Errorf("scripts = %q, want %q", scripts, wantScripts)
	}

	// Every referenced asset is embedded and served by Static.
	for _, ref := range refs {
		if !strings.HasPrefix(ref, "/") {
			t.Errorf("asset %q is not a same-origin absolute path", ref)
			continue
		}
		if _, err := fs.Stat(staticFS, strings.TrimPrefix(ref, "/")); err != nil {
			t.Errorf("asset %q is not embedded: %v", ref, err)
			continue
		}
		if rec := get(t, Static(), ref, nil); rec.Code != http.StatusOK {
			t.Errorf("Static GET %s: status %d, want 200", ref, rec.Code)
		}
	}
}

func TestGraphiQLNilHeadersAndRemoteEndpoint(t *testing.T) {
	rec := get(t, GraphiQL("https://api.example.test/graphql", nil), "/graphiql", nil)
	if !strings.Contains(rec.Body.String(), `"headers":{}`) {
		t.Errorf("nil headers should encode as {}; body:\n%s", rec.Body.String())
	}
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "connect-src 'self' https://api.example.test;") {
		t.Errorf("CSP %q does not allow connecting to the remote endpoint", csp)
	}
}

// directive returns the value of one directive of a Content-Security-Policy.
func directive(csp, name string) string {
	for _, d := range strings.Split(csp, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(d), name+" "); ok {
			return v
		}
	}
	return ""
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
