// Package web serves the public, unauthenticated browser side of Omnicanal: the developer
// landing page, the self-hosted GraphiQL explorer and the small demo clients that use the GraphQL
// API exactly as a real storefront, kiosk or POS would: the store kiosk at /kiosk/ (static/kiosk,
// with the QR images of handoff codes from HandoffQR) and the stores' pickup desk at /pickup/
// (static/pickup: staff sign-in, the live pickup queue, hand-over with the pickup code). The two
// pages share their GraphQL client (static/shared/graphql.js: POST /graphql and
// graphql-transport-ws subscriptions), DOM helpers (static/shared/page.js) and base styles
// (static/shared/base.css), which each page loads before its own.
//
// Everything is embedded in the binary; nothing is loaded from a CDN at run time.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed static
var embedded embed.FS

// staticFS is the embedded tree with the "static/" prefix removed, so that a URL path maps to a
// file name by dropping its leading slash.
var staticFS = mustSub(embedded, "static")

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		// Only reachable if the go:embed directive and dir disagree: a build-time bug.
		panic(err)
	}
	return sub
}

const (
	// Pages and our own assets change with every deploy under the same URL, so browsers may
	// reuse them only briefly; the ETag makes the revalidation after that a cheap 304.
	shortCache = "public, max-age=300"
	// Vendored files live under vendor/<package>@<version>/: a new version is a new URL, so
	// the bytes at a given URL never change and can be cached for good.
	immutableCache = "public, max-age=31536000, immutable"

	// staticCSP allows only same-origin resources and no inline script or style. The landing
	// page and the demo clients must keep working under it; GraphiQL, which needs inline
	// styles, is served by GraphiQL with its own policy.
	staticCSP = "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

// Static serves the embedded files of web/static: "/" is index.html, and every other path is
// the file of that name. It is meant to be mounted at the root of the server, as
// mux.Handle("/", web.Static()); the GraphiQL page links its assets by absolute path
// (/vendor/…, /assets/…) and relies on that. Register it without a method: it answers 405 to
// anything but GET and HEAD itself, and "GET /" would conflict in http.ServeMux with
// method-less patterns such as "/admin/" or "/graphiql".
//
// Directories are not listed; one holding an index.html (kiosk/) serves it at its path. Responses carry an ETag (a hash of the content, computed once),
// X-Content-Type-Options: nosniff, a restrictive Content-Security-Policy and a Cache-Control
// that is long only for versioned vendor files.
func Static() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !getOrHead(w, r) {
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name == "" {
			name = "index.html"
		} else if info, err := fs.Stat(staticFS, name); err == nil && info.IsDir() {
			// A folder with an index.html is a page (/kiosk/): served at
			// its path with the slash, so that the page's relative links
			// resolve inside it; without the slash, redirected there with
			// the query kept (/kiosk?code=… from a QR typed by hand).
			if _, err := fs.Stat(staticFS, name+"/index.html"); err != nil {
				http.NotFound(w, r)
				return
			}
			if !strings.HasSuffix(r.URL.Path, "/") {
				u := *r.URL
				u.Path = "/" + name + "/"
				http.Redirect(w, r, u.RequestURI(), http.StatusMovedPermanently)
				return
			}
			name += "/index.html"
		}
		serveFile(w, r, name)
	})
}

// serveFile writes the embedded file name with the headers described on Static, or a 404.
func serveFile(w http.ResponseWriter, r *http.Request, name string) {
	f, err := staticFS.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || info.IsDir() {
		http.NotFound(w, r)
		return
	}
	// Files from embed.FS implement io.ReadSeeker, which ServeContent needs for Range support.
	content, ok := f.(io.ReadSeeker)
	if !ok {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}

	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", staticCSP)
	h.Set("Cache-Control", cacheControl(name))
	if tag, ok := etags()[name]; ok {
		h.Set("ETag", tag)
	}
	// Embedded files have no modification time; the zero time makes ServeContent omit
	// Last-Modified and rely on the ETag (If-None-Match) alone. It also sets Content-Type from
	// the file extension.
	http.ServeContent(w, r, name, time.Time{}, content)
}

// cacheControl tells how long a browser may reuse the file at name without asking again.
func cacheControl(name string) string {
	rest, inVendor := strings.CutPrefix(name, "vendor/")
	pkg, file, inPkg := strings.Cut(rest, "/")
	if inVendor && inPkg && strings.Contains(pkg, "@") && file != "" {
		return immutableCache
	}
	return shortCache
}

// etags maps every embedded file to a strong ETag derived from its content. It is computed on
// first use (hashing the ~4 MB tree takes a few milliseconds) and never changes afterwards,
// since the files are compiled into the binary.
var etags = sync.OnceValue(func() map[string]string {
	tags := make(map[string]string)
	err := fs.WalkDir(staticFS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(staticFS, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		tags[name] = `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
		return nil
	})
	if err != nil {
		// An embedded FS cannot fail to read; serving without ETags would still be correct.
		return map[string]string{}
	}
	return tags
})

// getOrHead answers 405 with an Allow header to a request that is neither
// a GET nor a HEAD, and tells whether the handler may go on: every handler
// of this package only reads.
func getOrHead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
	return false
}
