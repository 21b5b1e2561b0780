// Package bulk serves the catalog feed over HTTP, for an ERP or a PIM:
//
//	GET  /admin/api/catalog.jsonl   export the whole catalog, one product per line
//	POST /admin/api/catalog.jsonl   import a feed; the response streams one result per line
//
// The format and its semantics are documented in package catalog (bulk.go)
// and in the README ("Catalog feed"). Both directions need a staff token
// (Authorization: Bearer st_…) of a merchandiser or an admin; the catalog
// service checks the role, as it does for every other caller.
//
// Both directions stream: an export is written page by page as it is read,
// and an import answers each line as soon as it is applied, so a large
// catalog needs neither a large buffer nor a long transaction, and a client
// sees progress. Once streaming has begun the status code is sent; an
// export that fails midway is cut off (the client sees an incomplete
// response, never a silently short catalog), an import that stops early says
// why in its last line.
package bulk

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/catalog"
	"github.com/omnicanal/omnicanal/commerce/staff"
	"github.com/omnicanal/omnicanal/internal/reqid"
)

// Path is where the server mounts the handler.
const Path = "/admin/api/catalog.jsonl"

// contentType is the media type of both directions (newline-delimited JSON).
const contentType = "application/x-ndjson"

// acceptedTypes are the media types a feed may be posted as: the names
// JSON Lines goes by.
var acceptedTypes = map[string]bool{
	"application/x-ndjson": true, "application/jsonl": true, "application/json-lines": true,
	"application/x-jsonlines": true, "application/jsonlines": true,
}

// maxBody bounds a whole import, on top of the per-line and line-count
// limits of the catalog service.
const maxBody = 512 << 20

// readIdle is how long an import may wait for the next bytes of the body.
// It replaces the server's overall read timeout, which a feed of many
// thousands of lines, applied as it is read, would exceed.
const readIdle = time.Minute

// Authenticator verifies a staff token; *staff.Service is one.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (commerce.Principal, error)
}

// Handler serves the catalog feed.
type Handler struct {
	Catalog *catalog.Service
	Auth    Authenticator
	Log     *slog.Logger
	// Limits bound one import; zero fields take the catalog's defaults.
	Limits catalog.ImportLimits
}

// New returns the feed handler.
func New(cat *catalog.Service, auth Authenticator, log *slog.Logger) *Handler {
	return &Handler{Catalog: cat, Auth: auth, Log: log}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := dataHeaders(w)
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		hd.Set("Allow", "GET, HEAD, POST")
		h.fail(w, r, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use GET to export or POST to import")
		return
	}
	ctx, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	r = r.WithContext(ctx)
	if r.Method == http.MethodPost {
		h.importFeed(w, r)
		return
	}
	h.export(w, r)
}

// dataHeaders sets the admin's security headers, for a response that is
// data, never a page: nothing in it may run, be framed, or be cached.
func dataHeaders(w http.ResponseWriter) http.Header {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	return hd
}

// authenticate puts the token's principal in the context, or answers 401.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (context.Context, bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(token, staff.TokenPrefix) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="omnicanal"`)
		h.fail(w, r, http.StatusUnauthorized, commerce.ErrUnauthenticated, "send a staff token: Authorization: Bearer st_…")
		return nil, false
	}
	p, err := h.Auth.Authenticate(r.Context(), token)
	if err != nil {
		h.failErr(w, r, err)
		return nil, false
	}
	return commerce.WithPrincipal(r.Context(), p), true
}

func (h *Handler) export(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	started := false
	lines := 0
	err := h.Catalog.Export(r.Context(), func(l *catalog.Line) error {
		if !started {
			started = true
			w.Header().Set("Content-Type", contentType)
			w.Header().Set("Content-Disposition", `attachment; filename="catalog.jsonl"`)
			w.WriteHeader(http.StatusOK)
			if r.Method == http.MethodHead {
				return errHead
			}
		}
		lines++
		if lines%100 == 0 {
			_ = rc.Flush()
		}
		return enc.Encode(l)
	})
	switch {
	case errors.Is(err, errHead):
	case err == nil && !started: // an empty catalog
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
	case err == nil:
	case !started:
		h.failErr(w, r, err)
	default:
		h.Log.ErrorContext(r.Context(), "catalog export cut off", "request_id", reqid.FromContext(r.Context()), "lines", lines, "err", err)
		// The status is sent: breaking the connection is the only way left
		// to tell the client that the export is incomplete.
		panic(http.ErrAbortHandler)
	}
}

var errHead = errors.New("HEAD: headers only")

func (h *Handler) importFeed(w http.ResponseWriter, r *http.Request) {
	streamFeed(h, w, r, feed[catalog.LineResult, catalog.ImportSummary]{
		name:    "catalog import",
		stopped: "the import stopped before the end of the feed",
		apply: func(ctx context.Context, body io.Reader, emit func(catalog.LineResult) error) (catalog.ImportSummary, error) {
			return h.Catalog.Import(ctx, body, h.Limits, emit)
		},
		failure: func(res catalog.LineResult) (int, error) { return res.Line, res.Cause },
	})
}

// feed is what tells one JSON Lines feed from another, for streamFeed.
type feed[Result, Summary any] struct {
	name    string // in the log: "catalog import"
	stopped string // the trailer's message when the feed stops early
	// apply reads the feed from body, calling emit with each line's result.
	apply func(ctx context.Context, body io.Reader, emit func(Result) error) (Summary, error)
	// failure is a result's line and the error behind an INTERNAL line
	// error, logged, never sent (nil for other results).
	failure func(Result) (line int, cause error)
}

// streamFeed answers a feed posted by an authenticated staff user: it
// checks the media type, applies the feed as it arrives and streams each
// line's result back at once, then a trailer with the summary and, when the
// feed stopped before its end, the error.
func streamFeed[Result, Summary any](h *Handler, w http.ResponseWriter, r *http.Request, f feed[Result, Summary]) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !acceptedTypes[mt] {
		h.fail(w, r, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "send the feed as application/x-ndjson (JSON Lines)")
		return
	}
	rc := http.NewResponseController(w)
	// Closing the body when done, even unread, works around a net/http bug
	// (golang/go#68560): a full-duplex handler that leaves part of the body
	// unread makes the server panic on the connection's next request.
	defer r.Body.Close()
	body := &idleReader{r: http.MaxBytesReader(w, r.Body, maxBody), rc: rc}
	enc := json.NewEncoder(w)
	started := false
	start := func() {
		if !started {
			started = true
			// HTTP/1 handlers may not read the request after writing the
			// response unless asked: results stream back while the feed is
			// still arriving. Asked only now, once the feed is under way,
			// so that a refusal answers plainly.
			_ = rc.EnableFullDuplex()
			w.Header().Set("Content-Type", contentType)
			w.WriteHeader(http.StatusOK)
		}
	}
	ctx := r.Context()
	sum, err := f.apply(ctx, body, func(res Result) error {
		start()
		if line, cause := f.failure(res); cause != nil {
			h.Log.ErrorContext(ctx, f.name+": line failed", "request_id", reqid.FromContext(ctx), "line", line, "err", cause)
		}
		if err := enc.Encode(res); err != nil {
			return err
		}
		return rc.Flush()
	})
	if err != nil && !started {
		if ce, ok := errors.AsType[*commerce.Error](err); ok && ce.Code != commerce.ErrInternal {
			h.failErr(w, r, err) // refused before reading: no role
			return
		}
	}
	who, _ := commerce.PrincipalFrom(ctx)
	h.Log.InfoContext(ctx, f.name, "request_id", reqid.FromContext(ctx), "staff_id", who.StaffID, "summary", sum, "err", err)
	start()
	trailer := struct {
		Summary Summary    `json:"summary"`
		Error   *errorBody `json:"error,omitempty"`
	}{Summary: sum}
	if err != nil {
		trailer.Error = &errorBody{Code: commerce.ErrInternal, Message: f.stopped, RequestID: reqid.FromContext(ctx)}
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			trailer.Error = &errorBody{Code: "REQUEST_TOO_LARGE", Message: "the feed is larger than the limit; the lines above were applied, send the rest separately"}
		}
	}
	_ = enc.Encode(trailer)
}

// idleReader pushes the connection's read deadline forward on every read,
// so that a feed may take as long as it needs as long as it keeps coming.
type idleReader struct {
	r  io.Reader
	rc *http.ResponseController
}

func (ir *idleReader) Read(p []byte) (int, error) {
	_ = ir.rc.SetReadDeadline(time.Now().Add(readIdle))
	return ir.r.Read(p)
}

type errorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"requestId,omitempty"`
}

// failErr answers with err's code: a commerce error keeps its code and
// message, anything else is an internal error logged with the request id.
func (h *Handler) failErr(w http.ResponseWriter, r *http.Request, err error) {
	ce, ok := errors.AsType[*commerce.Error](err)
	if !ok || ce.Code == commerce.ErrInternal {
		h.Log.ErrorContext(r.Context(), "catalog feed: internal error", "request_id", reqid.FromContext(r.Context()), "err", err)
		h.fail(w, r, http.StatusInternalServerError, commerce.ErrInternal, "internal error")
		return
	}
	status := http.StatusBadRequest
	switch ce.Code {
	case commerce.ErrUnauthenticated:
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="omnicanal", error="invalid_token"`)
	case commerce.ErrForbidden:
		status = http.StatusForbidden
	}
	h.fail(w, r, status, ce.Code, ce.Message)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := errorBody{Code: code, Message: message}
	if status >= 500 {
		body.RequestID = reqid.FromContext(r.Context())
	}
	_ = json.NewEncoder(w).Encode(map[string]errorBody{"error": body})
}
