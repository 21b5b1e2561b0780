package bulk

import (
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/internal/reqid"
)

// StockPath is where the server mounts the stock feed:
//
//	POST /admin/api/stock.jsonl   set units on hand, one (sku, location) per line
//
// The format is documented in package inventory (feed.go) and in the README
// ("Stock feed"). It needs a staff token of a merchandiser or an admin;
// results stream back one per line, as for the catalog feed.
const StockPath = "/admin/api/stock.jsonl"

// StockHandler serves the stock feed.
type StockHandler struct {
	Inventory *inventory.Service
	// Limits bound one feed; zero fields take the inventory's defaults.
	Limits inventory.FeedLimits
	// base holds what the two feeds share: authentication, errors, logging.
	base *Handler
}

// NewStock returns the stock feed handler.
func NewStock(inv *inventory.Service, auth Authenticator, log *slog.Logger) *StockHandler {
	return &StockHandler{Inventory: inv, base: &Handler{Auth: auth, Log: log}}
}

func (h *StockHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		hd.Set("Allow", "POST")
		h.base.fail(w, r, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "POST a stock feed")
		return
	}
	ctx, ok := h.base.authenticate(w, r)
	if !ok {
		return
	}
	r = r.WithContext(ctx)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !acceptedTypes[mt] {
		h.base.fail(w, r, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "send the feed as application/x-ndjson (JSON Lines)")
		return
	}
	rc := http.NewResponseController(w)
	defer r.Body.Close() // see importFeed: golang/go#68560
	body := &idleReader{r: http.MaxBytesReader(w, r.Body, maxBody), rc: rc}
	enc := json.NewEncoder(w)
	started := false
	start := func() {
		if !started {
			started = true
			_ = rc.EnableFullDuplex() // results stream back while the feed arrives
			w.Header().Set("Content-Type", contentType)
			w.WriteHeader(http.StatusOK)
		}
	}
	sum, err := h.Inventory.ImportFeed(ctx, body, h.Limits, func(res inventory.FeedResult) error {
		start()
		if res.Cause != nil {
			h.base.Log.ErrorContext(ctx, "stock feed: line failed", "request_id", reqid.FromContext(ctx), "line", res.Line, "err", res.Cause)
		}
		if err := enc.Encode(res); err != nil {
			return err
		}
		return rc.Flush()
	})
	if err != nil && !started {
		if ce, ok := errors.AsType[*commerce.Error](err); ok && ce.Code != commerce.ErrInternal {
			h.base.failErr(w, r, err) // refused before reading: no role
			return
		}
	}
	who, _ := commerce.PrincipalFrom(ctx)
	h.base.Log.InfoContext(ctx, "stock feed", "request_id", reqid.FromContext(ctx), "staff_id", who.StaffID,
		"lines", sum.Lines, "applied", sum.Applied, "unchanged", sum.Unchanged, "skipped", sum.Skipped, "errors", sum.Errors, "err", err)
	start()
	trailer := struct {
		Summary inventory.FeedSummary `json:"summary"`
		Error   *errorBody            `json:"error,omitempty"`
	}{Summary: sum}
	if err != nil {
		trailer.Error = &errorBody{Code: commerce.ErrInternal, Message: "the feed stopped before its end; the lines above were applied", RequestID: reqid.FromContext(ctx)}
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			trailer.Error = &errorBody{Code: "REQUEST_TOO_LARGE", Message: "the feed is larger than the limit; the lines above were applied, send the rest separately"}
		}
	}
	_ = enc.Encode(trailer)
}
