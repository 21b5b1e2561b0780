// Package admin is the server-rendered merchandiser UI (templ). For now it is the mountable
// shell: page layout, security headers, its own static files, a home page and a 404 page.
// Staff sign-in and the merchandising screens come later, each area in its own sub-package.
package admin

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/a-h/templ"

	"github.com/omnicanal/omnicanal/admin/layout"
)

//go:embed static
var embedded embed.FS

// staticFS is the admin's static folder, served at /admin/static/.
var staticFS = func() fs.FS {
	sub, err := fs.Sub(embedded, "static")
	if err != nil {
		// Only reachable if the go:embed directive and the name disagree: a build-time bug.
		panic(err)
	}
	return sub
}()

// Handler returns the admin UI. Its routes are relative to the admin root and its pages link
// to layout.Base ("/admin"), so the server must mount it exactly like this:
//
//	mux.Handle("/admin/", http.StripPrefix("/admin", admin.Handler()))
//
// Every response, errors included, carries the admin's security headers (see
// securityHeaders). Unknown paths get the admin's own 404 page.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", templ.Handler(homePage()))
	mux.HandleFunc("GET /static/{file...}", serveStatic)
	// Registered for GET only, so that another method on a known path still gets the mux's
	// 405 with an Allow header instead of a misleading 404.
	mux.HandleFunc("GET /", notFound)
	return securityHeaders(mux)
}

// securityHeaders sets the headers every admin response needs. The admin will show staff-only
// data and take state-changing forms, so it may not be framed (clickjacking), may run and load
// only what it serves itself (no inline script or style), leaks no admin URLs to other sites
// through Referer, and is never stored by the browser or a shared cache: not even its
// stylesheet, a cost this small internal UI can afford for one simple rule.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// serveStatic serves a file of admin/static, and the admin 404 for anything else, including
// directories, which are never listed.
func serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	info, err := fs.Stat(staticFS, name)
	if name == "" || err != nil || info.IsDir() {
		notFound(w, r)
		return
	}
	http.ServeFileFS(w, r, staticFS, name)
}

func notFound(w http.ResponseWriter, r *http.Request) {
	templ.Handler(notFoundPage(layout.Base+r.URL.Path), templ.WithStatus(http.StatusNotFound)).ServeHTTP(w, r)
}
