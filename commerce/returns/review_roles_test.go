package returns_test

import (
	"testing"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/returns"
)

// Merchandisers manage the catalogue, not the till: like the pickup desk,
// taking a return (and giving cash back) or receiving one is for
// associates of the store and admins.
func TestReviewMerchandiserCannotTakeOrReceiveReturns(t *testing.T) {
	e := newEnv(t)
	v := e.variant(t, 0)
	anna := e.customerCtx(t)
	o, _ := e.paidOrder(t, anna, line(v, 2))
	merch := e.staffCtx(t, commerce.RoleMerchandiser)
	if _, err := e.returns.CreateReturn(merch, input(o, "", lyon, 1, returns.Cash)); code(err) != commerce.ErrForbidden {
		t.Errorf("a merchandiser took a cash return: %v", err)
	}
	r, err := e.returns.CreateReturn(anna, input(o, "", lyon, 1, returns.Original))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.returns.ReceiveReturn(merch, r.ID); code(err) != commerce.ErrForbidden {
		t.Errorf("a merchandiser received a return: %v", err)
	}
	if n := e.count(t, `SELECT count(*) FROM order_refunds WHERE order_id = $1`, o.ID); n != 0 {
		t.Errorf("%d refunds given by a merchandiser", n)
	}
}
