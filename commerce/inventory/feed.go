package inventory

// The stock feed: an ERP sets the units on hand of many (SKU, location)
// pairs at once, as JSON Lines. The HTTP endpoint is admin/bulk
// (POST /admin/api/stock.jsonl).
//
// # Format
//
// One line per level, a JSON object (at most MaxFeedLineBytes):
//
//	{"key": "erp-2026-11-22-000123",   the line's idempotency key (≤ 200 characters), unique per ERP line
//	 "sku": "MS-000001-NOI-41",        the variant
//	 "location": "PAR-RIVOLI",         the location's code
//	 "onHand": 7}                      the counted units on hand, ≥ 0 (absolute, not a delta)
//
// Semantics. Each line is applied in its own transaction: completely or not
// at all, and a bad line does not stop the others. A key already applied
// (by this feed or an earlier one) is skipped and reported as such, so a
// re-sent or retried file changes nothing; keys are remembered forever in
// stock_feed_lines. A line setting on hand to its current value is recorded
// (its key is used) but writes no ledger row. Otherwise the change is one
// 'feed' ledger row with the key and the staff user of the token. Reserved
// units are not touched: a count below what is promised leaves nothing
// available until stock comes back.
//
// Results stream back, one per non-blank line, then a summary:
//
//	{"line": 1, "key": "erp-…-000123", "status": "applied"}
//	{"line": 2, "key": "erp-…-000124", "status": "skipped"}
//	{"line": 3, "key": "erp-…-000125", "status": "error", "errors": [{"field": "sku", "code": "NOT_FOUND", "message": "…"}]}
//	{"summary": {"lines": 3, "applied": 1, "unchanged": 0, "skipped": 1, "errors": 1}}
//
// status is applied, unchanged, skipped or error.

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
	"github.com/omnicanal/omnicanal/commerce/internal/jsonl"
)

// Bounds of one feed.
const (
	MaxFeedLineBytes = 4 << 10
	MaxFeedLines     = 1_000_000
)

// FeedLine is one line of the stock feed.
type FeedLine struct {
	Key      string `json:"key"`
	SKU      string `json:"sku"`
	Location string `json:"location"`
	OnHand   *int   `json:"onHand"`
}

// FeedStatus is what the feed did with one line.
type FeedStatus string

// Feed line statuses.
const (
	FeedApplied   FeedStatus = "applied"
	FeedUnchanged FeedStatus = "unchanged"
	FeedSkipped   FeedStatus = "skipped" // the key was applied before
	FeedFailed    FeedStatus = "error"
)

// FeedError is one problem of a line.
type FeedError struct {
	Field   string `json:"field,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// FeedResult reports one line of a feed.
type FeedResult struct {
	Line   int         `json:"line"`
	Key    string      `json:"key,omitempty"`
	Status FeedStatus  `json:"status"`
	Errors []FeedError `json:"errors,omitempty"`
	// Cause is the error behind an INTERNAL line error, for the server's
	// log only.
	Cause error `json:"-"`
}

// FeedSummary counts the lines of a feed by status.
type FeedSummary struct {
	Lines     int `json:"lines"`
	Applied   int `json:"applied"`
	Unchanged int `json:"unchanged"`
	Skipped   int `json:"skipped"`
	Errors    int `json:"errors"`
}

// FeedLimits bound a feed; zero fields take the defaults.
type FeedLimits struct {
	MaxLineBytes int
	MaxLines     int
}

// feedRoles may send the feed: it sets stock at any location.
var feedRoles = []commerce.Role{commerce.RoleAdmin, commerce.RoleMerchandiser}

// ImportFeed reads a stock feed from r and applies it line by line, each in
// its own transaction, calling emit with each line's result as soon as it
// is known. It returns early only when ctx ends, reading fails, emit fails
// or the caller is not a merchandiser or an admin; bad lines are reported,
// not fatal.
func (s *Service) ImportFeed(ctx context.Context, r io.Reader, limits FeedLimits, emit func(FeedResult) error) (FeedSummary, error) {
	var sum FeedSummary
	who, err := commerce.RequireRole(ctx, feedRoles...)
	if err != nil {
		return sum, err
	}
	if limits.MaxLineBytes <= 0 {
		limits.MaxLineBytes = MaxFeedLineBytes
	}
	if limits.MaxLines <= 0 {
		limits.MaxLines = MaxFeedLines
	}
	err = jsonl.Each(ctx, r, limits.MaxLineBytes, limits.MaxLines, func(l jsonl.Line) error {
		var res FeedResult
		switch {
		case l.TooMany:
			res = feedFailure(l.N, "", "", fmt.Sprintf("a feed holds at most %d lines; this line and the rest were not read", limits.MaxLines))
		case l.TooLong:
			res = feedFailure(l.N, "", "", fmt.Sprintf("a line holds at most %d bytes", limits.MaxLineBytes))
		default:
			res = s.feedLine(ctx, who, l.N, l.Raw)
		}
		sum.Lines++
		switch res.Status {
		case FeedApplied:
			sum.Applied++
		case FeedUnchanged:
			sum.Unchanged++
		case FeedSkipped:
			sum.Skipped++
		default:
			sum.Errors++
		}
		return emit(res)
	})
	if err != nil {
		return sum, fmt.Errorf("inventory.ImportFeed: %w", err)
	}
	return sum, nil
}

func feedFailure(n int, key, field, msg string) FeedResult {
	return FeedResult{Line: n, Key: key, Status: FeedFailed, Errors: []FeedError{{Field: field, Code: commerce.ErrInvalidInput, Message: msg}}}
}

// Validate reports every problem of a line, joined.
func (l *FeedLine) Validate() error {
	var errs []error
	switch {
	case l.Key == "":
		errs = append(errs, commerce.InvalidInput("key", "every line needs a key, unique to it, so that it is applied once"))
	case len(l.Key) > maxKeyLen:
		errs = append(errs, commerce.InvalidInput("key", "a key has at most %d characters", maxKeyLen))
	}
	if l.SKU == "" {
		errs = append(errs, commerce.InvalidInput("sku", "missing sku"))
	}
	if l.Location == "" {
		errs = append(errs, commerce.InvalidInput("location", "missing location code"))
	}
	switch {
	case l.OnHand == nil:
		errs = append(errs, commerce.InvalidInput("onHand", "missing onHand"))
	case *l.OnHand < 0:
		errs = append(errs, commerce.InvalidInput("onHand", "on hand cannot be negative"))
	}
	return errors.Join(errs...)
}

// feedLine decodes and applies one line.
func (s *Service) feedLine(ctx context.Context, who commerce.Principal, n int, raw []byte) FeedResult {
	var line FeedLine
	if err := jsonl.Decode(raw, &line); err != nil {
		return feedFailure(n, "", "", "not a JSON object of the stock feed: "+err.Error())
	}
	res := FeedResult{Line: n, Key: line.Key}
	err := line.Validate()
	if err == nil {
		res.Status, err = s.applyFeedLine(ctx, who, &line)
	}
	if err == nil {
		return res
	}
	res.Status = FeedFailed
	errs, ok := commerce.Leaves(err, func(ce *commerce.Error) bool { return ce.Code != commerce.ErrInternal })
	if !ok {
		res.Errors, res.Cause = []FeedError{{Code: commerce.ErrInternal, Message: "internal error"}}, err
		return res
	}
	for _, ce := range errs {
		res.Errors = append(res.Errors, FeedError{Field: ce.Field, Code: ce.Code, Message: ce.Message})
	}
	return res
}

// applyFeedLine sets one level in one transaction, once per key.
func (s *Service) applyFeedLine(ctx context.Context, who commerce.Principal, l *FeedLine) (FeedStatus, error) {
	var status FeedStatus
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var variant, location *commerce.ID
		if err := tx.QueryRow(ctx, `SELECT (SELECT id FROM variants WHERE sku = $1), (SELECT id FROM locations WHERE code = $2)`,
			l.SKU, l.Location).Scan(&variant, &location); err != nil {
			return err
		}
		var errs []error
		if variant == nil {
			errs = append(errs, &commerce.Error{Code: commerce.ErrNotFound, Field: "sku", Message: fmt.Sprintf("no variant has the sku %q", l.SKU)})
		}
		if location == nil {
			errs = append(errs, &commerce.Error{Code: commerce.ErrNotFound, Field: "location", Message: fmt.Sprintf("no location has the code %q", l.Location)})
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		// Claims the key; a concurrent feed with the same key waits here
		// until the first commits (then this line is skipped) or rolls back.
		tag, err := tx.Exec(ctx, `INSERT INTO stock_feed_lines (key, variant_id, location_id, on_hand)
			VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING`, l.Key, *variant, *location, *l.OnHand)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			status = FeedSkipped
			return nil
		}
		if err := ensureLevel(ctx, tx, *variant, *location); err != nil {
			return err
		}
		cur, err := lockLevel(ctx, tx, *variant, *location)
		if err != nil {
			return err
		}
		if cur.onHand == *l.OnHand {
			status = FeedUnchanged
			return nil
		}
		_, _, err = apply(ctx, tx, change{variant: *variant, location: *location, kind: KindFeed,
			onHand: *l.OnHand - cur.onHand, reason: "stock feed", staffID: &who.StaffID, feedKey: &l.Key}, "")
		status = FeedApplied
		return err
	})
	return status, err
}
