package web

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// graphiqlPage mounts GraphiQL from self-hosted files only. The per-server settings travel in
// a JSON script block that assets/graphiql-mount.js parses, so the page has no inline script
// and script-src can stay 'self'. html/template treats application/json as a JavaScript
// context and JSON-encodes the value with <, > and & escaped, so a header value cannot close
// the script element.
var graphiqlPage = template.Must(template.New("graphiql").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GraphiQL · Omnicanal</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/vendor/graphiql@3.8.3/graphiql.min.css">
<link rel="stylesheet" href="/assets/graphiql-page.css">
<script type="application/json" id="graphiql-config">{{.}}</script>
</head>
<body>
<div id="graphiql" data-testid="graphiql"><p class="graphiql-loading">Loading GraphiQL…</p></div>
<noscript><p class="graphiql-noscript">GraphiQL needs JavaScript. Without it, POST your queries to {{.Endpoint}} with curl.</p></noscript>
<script src="/vendor/react@18.3.1/react.production.min.js"></script>
<script src="/vendor/react-dom@18.3.1/react-dom.production.min.js"></script>
<script src="/vendor/graphiql@3.8.3/graphiql.min.js"></script>
<script src="/assets/graphiql-mount.js"></script>
</body>
</html>
`))

// graphiqlConfig is what assets/graphiql-mount.js reads from the page.
type graphiqlConfig struct {
	Endpoint string            `json:"endpoint"`
	Headers  map[string]string `json:"headers"`
}

// GraphiQL returns a handler for a page that runs the GraphiQL explorer against endpoint (a
// same-origin path such as "/graphql", or an absolute URL). defaultHeaders fill the headers
// editor on first visit, e.g. {"X-Channel-Key": "pk_demo_web_eu"} in dev; headers the user
// edits are then kept in the browser's local storage and win over the defaults.
//
// The page loads its scripts and styles from Static, which must be mounted at "/".
// It is served with a Content-Security-Policy that allows scripts from this origin only.
// Styles additionally allow 'unsafe-inline': the first render needs none, but GraphiQL's
// dialogs (Radix UI, through react-style-singleton) insert <style> elements when opened.
func GraphiQL(endpoint string, defaultHeaders map[string]string) http.Handler {
	if defaultHeaders == nil {
		// Encode as {} rather than null so the mount script needs no special case.
		defaultHeaders = map[string]string{}
	}
	var buf bytes.Buffer
	if err := graphiqlPage.Execute(&buf, graphiqlConfig{Endpoint: endpoint, Headers: defaultHeaders}); err != nil {
		// The template and its data are fixed at construction, so a failure here is a
		// programming error that every test run would hit, not a run-time condition.
		panic("web: rendering GraphiQL page: " + err.Error())
	}
	page := buf.Bytes()
	csp := graphiqlCSP(endpoint)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !getOrHead(w, r) {
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", shortCache)
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(page)
		}
	})
}

// graphiqlCSP builds the page's policy. GraphiQL's stylesheet embeds its fonts and icons as
// data: URIs, hence font-src and img-src data:. When the endpoint is on another origin, that
// origin is added to connect-src so GraphiQL may fetch from it.
func graphiqlCSP(endpoint string) string {
	connect := "'self'"
	if u, err := url.Parse(endpoint); err == nil && u.Scheme != "" && u.Host != "" &&
		!strings.ContainsAny(u.Host, " ;,'\"") {
		connect += " " + u.Scheme + "://" + u.Host
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self' 'unsafe-inline'",
		"font-src 'self' data:",
		"img-src 'self' data:",
		"connect-src " + connect,
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}
