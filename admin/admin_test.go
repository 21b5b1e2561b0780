package admin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// server mounts the admin exactly as Handler's documentation tells the server to, so the tests
// also cover the StripPrefix contract and the absolute links of the layout.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", Handler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, srv *httptest.Server, method, path string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Redirects would hide what the admin itself answered.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

var wantHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
	"X-Frame-Options":         "DENY",
	"Referrer-Policy":         "same-origin",
	"X-Content-Type-Options":  "nosniff",
	"Cache-Control":           "no-store",
}

func checkSecurityHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	for k, want := range wantHeaders {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s %s: %s = %q, want %q", resp.Request.Method, resp.Request.URL.Path, k, got, want)
		}
	}
}

func TestHome(t *testing.T) {
	srv := server(t)
	resp, body := do(t, srv, http.MethodGet, "/admin/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	checkSecurityHeaders(t, resp)
	if got := resp.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	for _, want := range []string{
		`data-testid="admin-header"`,
		`data-testid="admin-main"`,
		`data-testid="admin-footer"`,
		`data-testid="admin-home"`,
		`href="/admin/static/admin.css"`,
		"Staff sign-in",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("home page lacks %q", want)
		}
	}
	// The CSP forbids inline code; the page must not depend on any.
	for _, banned := range []string{"<script", "<style", " style="} {
		if strings.Contains(body, banned) {
			t.Errorf("home page contains %q, which the CSP blocks", banned)
		}
	}
}

func TestNotFound(t *testing.T) {
	srv := server(t)
	for _, path := range []string{"/admin/nope", "/admin/products/42", "/admin/static/missing.css", "/admin/static/"} {
		resp, body := do(t, srv, http.MethodGet, path)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, resp.StatusCode)
			continue
		}
		checkSecurityHeaders(t, resp)
		if !strings.Contains(body, `data-testid="admin-not-found"`) || !strings.Contains(body, "admin.css") {
			t.Errorf("GET %s: not the styled admin 404 page:\n%s", path, body)
		}
		if !strings.Contains(body, "<code>"+path+"</code>") {
			t.Errorf("GET %s: 404 page does not name the path", path)
		}
	}
}

func TestNotFoundEscapesPath(t *testing.T) {
	srv := server(t)
	_, body := do(t, srv, http.MethodGet, "/admin/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
	if strings.Contains(body, "<script>alert(1)") {
		t.Fatal("requested path was reflected unescaped")
	}
	if !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("escaped path not shown:\n%s", body)
	}
}

func TestWrongMethod(t *testing.T) {
	srv := server(t)
	resp, _ := do(t, srv, http.MethodPost, "/admin/")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /admin/: status %d, want 405", resp.StatusCode)
	}
	checkSecurityHeaders(t, resp)
}

func TestStylesheet(t *testing.T) {
	srv := server(t)
	resp, body := do(t, srv, http.MethodGet, "/admin/static/admin.css")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	checkSecurityHeaders(t, resp)
	if got := resp.Header.Get("Content-Type"); got != "text/css; charset=utf-8" {
		t.Errorf("Content-Type = %q, want text/css; charset=utf-8", got)
	}
	if !strings.Contains(body, ".topbar") {
		t.Error("stylesheet body is not admin.css")
	}
}
