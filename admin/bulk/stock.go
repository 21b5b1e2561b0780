package bulk

import (
	"context"
	"io"
	"log/slog"
	"net/http"

	"github.com/omnicanal/omnicanal/commerce/inventory"
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
	hd := dataHeaders(w)
	if r.Method != http.MethodPost {
		hd.Set("Allow", "POST")
		h.base.fail(w, r, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "POST a stock feed")
		return
	}
	ctx, ok := h.base.authenticate(w, r)
	if !ok {
		return
	}
	streamFeed(h.base, w, r.WithContext(ctx), feed[inventory.FeedResult, inventory.FeedSummary]{
		name:    "stock feed",
		stopped: "the feed stopped before its end; the lines above were applied",
		apply: func(ctx context.Context, body io.Reader, emit func(inventory.FeedResult) error) (inventory.FeedSummary, error) {
			return h.Inventory.ImportFeed(ctx, body, h.Limits, emit)
		},
		failure: func(res inventory.FeedResult) (int, error) { return res.Line, res.Cause },
	})
}
