package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/omnicanal/omnicanal/commerce/cart"
	"github.com/omnicanal/omnicanal/commerce/pickup"
	"github.com/omnicanal/omnicanal/internal/qr"
)

// HandoffQRPath is where HandoffQR is meant to be mounted; the GraphQL API
// gives it as a handoff's qrCodeUrl (graph.HandoffQRPath).
const HandoffQRPath = "/kiosk/qr.svg"

// qrCSP: an SVG document may hold scripts; this one holds none, and the
// policy makes sure nothing in it runs or loads when it is opened by
// itself rather than as an <img>.
const qrCSP = "default-src 'none'; frame-ancestors 'self'"

// HandoffQR serves GET /kiosk/qr.svg?code=XXXXXXXX: an SVG QR code of the
// kiosk page that resumes the cart of that handoff code,
// <scheme>://<host>/kiosk/?code=XXXXXXXX, with the address the request
// came to (so the phone that scans it reaches this server, whatever name it
// is served under). It looks nothing up: the image is of the URL, and only
// cartResume decides what the code opens. A code of the wrong shape is a
// 400, so that the route cannot be used to make QR codes of anything else.
//
// The response is not cached (a code is short-lived and single use) and
// the access log leaves query strings out.
func HandoffQR() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !getOrHead(w, r) {
			return
		}
		code, ok := cart.NormalizeHandoffCode(r.URL.Query().Get("code"))
		host := r.Host
		if !ok || host == "" || strings.ContainsAny(host, "/?#@ \\") {
			http.Error(w, "code must be a handoff code", http.StatusBadRequest)
			return
		}
		scheme := "http"
		// Behind a TLS-terminating proxy the request arrives in clear;
		// the header only changes what this client's own image says.
		if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
			scheme = "https"
		}
		resume := url.URL{Scheme: scheme, Host: host, Path: "/kiosk/", RawQuery: url.Values{"code": {code}}.Encode()}
		serveQR(w, r, resume.String(), "the server's address is too long for a QR code")
	})
}

// PickupQRPath is where PickupQR is meant to be mounted; the GraphQL API
// gives it as an order's pickupQrCodeUrl (graph.PickupQRPath).
const PickupQRPath = "/pickup/qr.svg"

// PickupQR serves GET /pickup/qr.svg?code=XXXXXX: an SVG QR code of the
// pickup code itself, for the customer's phone to show at the desk, where
// a scanner types it into the code field. Like HandoffQR it looks nothing
// up (only pickupOrderHandOver decides what a code is worth), refuses
// anything that is not a code's shape (400), is not cached, and the access
// log leaves query strings out.
func PickupQR() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !getOrHead(w, r) {
			return
		}
		code := pickup.NormalizeCode(r.URL.Query().Get("code"))
		if !pickup.ValidCode(code) {
			http.Error(w, "code must be a pickup code", http.StatusBadRequest)
			return
		}
		serveQR(w, r, code, "no QR code for this code")
	})
}

// serveQR writes the SVG QR code of text, uncached and under qrCSP, or a
// 400 with tooLong when text does not fit in a QR code.
func serveQR(w http.ResponseWriter, r *http.Request, text, tooLong string) {
	sym, err := qr.Encode(text)
	if err != nil {
		http.Error(w, tooLong, http.StatusBadRequest)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", qrCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(sym.SVG(4))
}
