package inventory_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/inventory"
)

func (f *fixture) feed(t *testing.T, ctx context.Context, body string) ([]inventory.FeedResult, inventory.FeedSummary) {
	t.Helper()
	var out []inventory.FeedResult
	sum, err := f.svc.ImportFeed(ctx, strings.NewReader(body), inventory.FeedLimits{MaxLineBytes: 200}, func(r inventory.FeedResult) error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, sum
}

func TestFeed(t *testing.T) {
	f := newFixture(t, 2)
	f.setStock(t, f.variants[1], f.store, 4)
	merch := f.staffCtx(t, commerce.RoleMerchandiser)
	body := `{"key": "k1", "sku": "SKU-0", "location": "PAR", "onHand": 7}
{"key": "k2", "sku": "SKU-1", "location": "PAR", "onHand": 4}

{"key": "k1", "sku": "SKU-0", "location": "PAR", "onHand": 100}
{"key": "k3", "sku": "NOPE", "location": "MARS", "onHand": 1}
{"key": "k4", "sku": "SKU-0", "location": "LYO", "onHand": -1}
{"key": "k5", "sku": "SKU-0", "location": "LYO", "onHand": 1, "extra": true}
not json
{"key": "` + strings.Repeat("x", 300) + `"}
{"key": "k6", "sku": "SKU-1", "location": "PAR", "onHand": 1}`
	res, sum := f.feed(t, merch, body)
	want := []struct {
		line   int
		key    string
		status inventory.FeedStatus
		field  string
	}{
		{1, "k1", inventory.FeedApplied, ""},
		{2, "k2", inventory.FeedUnchanged, ""},
		{4, "k1", inventory.FeedSkipped, ""},
		{5, "k3", inventory.FeedFailed, "sku"},
		{6, "k4", inventory.FeedFailed, "onHand"},
		{7, "", inventory.FeedFailed, ""},
		{8, "", inventory.FeedFailed, ""},
		{9, "", inventory.FeedFailed, ""},
		{10, "k6", inventory.FeedApplied, ""},
	}
	if len(res) != len(want) {
		t.Fatalf("%d results, want %d: %+v", len(res), len(want), res)
	}
	for i, w := range want {
		r := res[i]
		if r.Line != w.line || r.Key != w.key || r.Status != w.status {
			t.Errorf("result %d: %+v, want line %d key %q status %s", i, r, w.line, w.key, w.status)
		}
		if w.status == inventory.FeedFailed && (len(r.Errors) == 0 || r.Errors[0].Field != w.field || r.Cause != nil) {
			t.Errorf("line %d errors %+v, want field %q first", w.line, r.Errors, w.field)
		}
	}
	if len(res[3].Errors) != 2 || res[3].Errors[0].Code != commerce.ErrNotFound {
		t.Errorf("unknown sku and location: %+v", res[3].Errors)
	}
	if sum != (inventory.FeedSummary{Lines: 9, Applied: 2, Unchanged: 1, Skipped: 1, Errors: 5}) {
		t.Errorf("summary %+v", sum)
	}
	if l := f.level(t, f.variants[0], f.store); l.OnHand != 7 {
		t.Errorf("SKU-0 at PAR: %d, want 7 (the second k1 skipped)", l.OnHand)
	}
	if l := f.level(t, f.variants[1], f.store); l.OnHand != 1 {
		t.Errorf("SKU-1 at PAR: %d", l.OnHand)
	}
	var n int
	if err := f.pool.QueryRow(t.Context(), `SELECT count(*) FROM stock_movements WHERE kind = 'feed' AND feed_key IN ('k1', 'k6') AND staff_id IS NOT NULL`).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d feed ledger rows, want 2 (%v)", n, err)
	}

	// Sent again: every key was seen.
	if _, sum := f.feed(t, merch, body); sum.Applied != 0 || sum.Unchanged != 0 || sum.Skipped != 4 {
		t.Errorf("resent feed: %+v", sum)
	}

	// Associates cannot send the feed.
	assoc := f.staffCtx(t, commerce.RoleAssociate, f.store)
	if _, err := f.svc.ImportFeed(assoc, strings.NewReader(body), inventory.FeedLimits{}, func(inventory.FeedResult) error { return nil }); commerce.ErrorCode(err) != commerce.ErrForbidden {
		t.Errorf("associate: %v", err)
	}
}

// The same file sent twice at once applies each key once.
func TestFeedConcurrentResend(t *testing.T) {
	f := newFixture(t, 1)
	merch := f.staffCtx(t, commerce.RoleMerchandiser)
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, `{"key": "k%d", "sku": "SKU-0", "location": "PAR", "onHand": %d}`+"\n", i, i+1)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sums []inventory.FeedSummary
	)
	for range 2 {
		wg.Go(func() {
			_, sum := f.feed(t, merch, b.String())
			mu.Lock()
			sums = append(sums, sum)
			mu.Unlock()
		})
	}
	wg.Wait()
	applied := sums[0].Applied + sums[1].Applied + sums[0].Unchanged + sums[1].Unchanged
	if applied != 50 || sums[0].Skipped+sums[1].Skipped != 50 || sums[0].Errors+sums[1].Errors != 0 {
		t.Errorf("summaries %+v, want 50 keys applied once and skipped once", sums)
	}
	var keys int
	if err := f.pool.QueryRow(t.Context(), `SELECT count(DISTINCT feed_key) - count(feed_key) FROM stock_movements`).Scan(&keys); err != nil || keys != 0 {
		t.Errorf("a feed key has two ledger rows (%d, %v)", keys, err)
	}
}
