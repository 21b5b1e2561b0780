package offer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/pricing"
)

// Exhausted returns, among offers, those whose total usage limit is reached
// and those the customer has used up (none for a guest, zero customerID:
// an offer limited per customer requires a signed-in one): what
// pricing.Input.ExhaustedOffers and ExhaustedForCustomer want. It asks the
// database only when an offer has a limit, so pricing a cart without
// limited offers costs no query. The answer is advice for showing a cart;
// Redeem enforces the limits at checkout.
func (s *Service) Exhausted(ctx context.Context, offers []pricing.Offer, customerID commerce.ID) (total, perCustomer []commerce.ID, err error) {
	var limited []commerce.ID
	for i := range offers {
		if offers[i].UsageLimit > 0 || offers[i].UsageLimitPerCustomer > 0 {
			limited = append(limited, offers[i].ID)
		}
	}
	if len(limited) == 0 {
		return nil, nil, nil
	}
	var customer *commerce.ID
	if customerID != (commerce.ID{}) {
		customer = &customerID
	}
	// The limits are read from the offers table, not from the (cached)
	// offers passed in: a limit staff just lowered counts at once.
	rows, err := s.pool.Query(ctx, `SELECT o.id,
			o.usage_limit > 0 AND coalesce(u.uses, 0) >= o.usage_limit,
			o.usage_limit_per_customer > 0 AND coalesce(c.uses, 0) >= o.usage_limit_per_customer
		FROM offers o
		LEFT JOIN offer_usage u ON u.offer_id = o.id
		LEFT JOIN offer_customer_usage c ON c.offer_id = o.id AND c.customer_id = $2
		WHERE o.id = ANY($1) ORDER BY o.id`, limited, customer)
	if err != nil {
		return nil, nil, fmt.Errorf("offer.Exhausted: %w", err)
	}
	var (
		id          commerce.ID
		all, theirs bool
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &all, &theirs}, func() error {
		if all {
			total = append(total, id)
		}
		if theirs && customer != nil {
			perCustomer = append(perCustomer, id)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("offer.Exhausted: %w", err)
	}
	return total, perCustomer, nil
}

// Redeem records that the order named by reference (its id, say) uses these
// offers, within the caller's transaction tx (the checkout's), so that the
// uses count exactly when the order is placed. customerID is zero for a
// guest. Redeem refuses — CONFLICT, with a *RedeemError saying which offer
// and why — when:
//
//   - a usage limit, total or of this customer, is reached
//     (pricing.ReasonUsageLimitReached, ReasonCustomerLimitReached);
//   - an offer limited per customer is redeemed for a guest
//     (pricing.ReasonCustomer);
//   - an offer was disabled (ReasonDisabled), or changed since the version
//     that priced the order (ReasonChanged): the checkout must price again.
//
// When it refuses, it leaves nothing behind: its writes are undone (in a
// savepoint) and tx stays usable. Redeeming the same offers for the same
// reference again counts nothing twice, so a retried checkout is safe.
//
// How limits hold under concurrency: Redeem first locks the offers' rows
// shared (FOR SHARE, in id order), which many checkouts may hold at once
// but which makes a staff change of the offer wait until they commit, so
// the limits it reads stay true for the transaction. Then each limited use
// is one conditional upsert of a counter row: "uses + 1 where uses < limit".
// Postgres evaluates that condition on the latest committed row and makes
// concurrent checkouts of one offer queue on the row until the one before
// commits or rolls back, so 50 concurrent checkouts of an offer limited to
// 10 give exactly 10 uses, never a count read before another's write.
func (s *Service) Redeem(ctx context.Context, tx pgx.Tx, uses []Use, customerID commerce.ID, reference string) error {
	if len(uses) == 0 {
		return nil
	}
	if reference == "" || len(reference) > 200 {
		return commerce.InvalidInput("reference", "a reference has 1 to 200 characters")
	}
	byID := map[commerce.ID]Use{}
	for _, u := range uses {
		if prev, ok := byID[u.OfferID]; ok && prev.Version != u.Version {
			return commerce.InvalidInput("offers", "offer %s is given at two versions", u.OfferID)
		}
		byID[u.OfferID] = u
	}
	ids := make([]commerce.ID, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	// One order for every transaction's locks, so that two checkouts
	// never wait for each other in a cycle.
	slices.SortFunc(ids, func(a, b commerce.ID) int { return bytes.Compare(a[:], b[:]) })

	sp, err := tx.Begin(ctx) // a savepoint: a refusal undoes only our writes
	if err != nil {
		return fmt.Errorf("offer.Redeem: %w", err)
	}
	defer sp.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if err := s.redeem(ctx, sp, ids, byID, customerID, reference); err != nil {
		return fmt.Errorf("offer.Redeem: %w", err)
	}
	if err := sp.Commit(ctx); err != nil {
		return fmt.Errorf("offer.Redeem: %w", err)
	}
	return nil
}

func (s *Service) redeem(ctx context.Context, tx pgx.Tx, ids []commerce.ID, byID map[commerce.ID]Use, customerID commerce.ID, reference string) error {
	type state struct {
		version            int
		limit, perCustomer int
		disabled           bool
	}
	rows, err := tx.Query(ctx, `SELECT id, version, usage_limit, usage_limit_per_customer, disabled_at IS NOT NULL
		FROM offers WHERE id = ANY($1) ORDER BY id FOR SHARE`, ids)
	if err != nil {
		return err
	}
	states := make(map[commerce.ID]state, len(ids))
	var (
		id commerce.ID
		st state
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &st.version, &st.limit, &st.perCustomer, &st.disabled}, func() error {
		states[id] = st
		return nil
	}); err != nil {
		return err
	}
	var customer *commerce.ID
	if customerID != (commerce.ID{}) {
		customer = &customerID
	}
	for _, id := range ids {
		st, ok := states[id]
		switch want := byID[id].Version; {
		case !ok:
			return &commerce.Error{Code: commerce.ErrNotFound, Field: "offers", Message: fmt.Sprintf("offer %s not found", id)}
		case st.disabled:
			s.invalidate() // this instance priced with an offer it should no longer see
			return refuse(id, ReasonDisabled)
		case want != 0 && want != st.version:
			s.invalidate()
			return refuse(id, ReasonChanged)
		case st.perCustomer > 0 && customer == nil:
			return refuse(id, pricing.ReasonCustomer)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO offer_redemptions (id, offer_id, offer_version, customer_id, reference)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (offer_id, reference) DO NOTHING`,
			commerce.NewID(), id, st.version, customer, reference)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			continue // this reference has used it already: count it once
		}
		if st.limit > 0 {
			tag, err := tx.Exec(ctx, `INSERT INTO offer_usage AS u (offer_id, uses) VALUES ($1, 1)
				ON CONFLICT (offer_id) DO UPDATE SET uses = u.uses + 1 WHERE u.uses < $2`, id, st.limit)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return refuse(id, pricing.ReasonUsageLimitReached)
			}
		}
		if st.perCustomer > 0 {
			tag, err := tx.Exec(ctx, `INSERT INTO offer_customer_usage AS u (offer_id, customer_id, uses) VALUES ($1, $2, 1)
				ON CONFLICT (offer_id, customer_id) DO UPDATE SET uses = u.uses + 1 WHERE u.uses < $3`,
				id, customerID, st.perCustomer)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return refuse(id, pricing.ReasonCustomerLimitReached)
			}
		}
	}
	return nil
}

// Release gives back the uses recorded for reference (an order cancelled,
// expired or never paid), within the caller's transaction, so that they
// count no more against the limits. Releasing a reference with no uses, or
// twice, does nothing.
func (s *Service) Release(ctx context.Context, tx pgx.Tx, reference string) error {
	rows, err := tx.Query(ctx, `SELECT offer_id FROM offer_redemptions WHERE reference = $1`, reference)
	if err != nil {
		return fmt.Errorf("offer.Release: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[commerce.ID])
	if err != nil {
		return fmt.Errorf("offer.Release: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	slices.SortFunc(ids, func(a, b commerce.ID) int { return bytes.Compare(a[:], b[:]) })
	// Lock the offers shared, as Redeem does, so that a staff change
	// rebuilding the counters never sees half of a release; then take the
	// counters offer by offer in id order, total then customer, as Redeem
	// does, so that a release and a redemption never deadlock.
	if _, err := tx.Exec(ctx, `SELECT 1 FROM offers WHERE id = ANY($1) ORDER BY id FOR SHARE`, ids); err != nil {
		return fmt.Errorf("offer.Release: %w", err)
	}
	for _, id := range ids {
		var customer *commerce.ID
		err := tx.QueryRow(ctx, `DELETE FROM offer_redemptions WHERE offer_id = $1 AND reference = $2 RETURNING customer_id`,
			id, reference).Scan(&customer)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // released meanwhile by someone else
		}
		if err != nil {
			return fmt.Errorf("offer.Release: %w", err)
		}
		// Counters exist only for offers with a limit of their kind (see
		// Redeem); for the others these update nothing.
		if _, err := tx.Exec(ctx, `UPDATE offer_usage SET uses = uses - 1 WHERE offer_id = $1 AND uses > 0`, id); err != nil {
			return fmt.Errorf("offer.Release: %w", err)
		}
		if customer != nil {
			if _, err := tx.Exec(ctx, `UPDATE offer_customer_usage SET uses = uses - 1
				WHERE offer_id = $1 AND customer_id = $2 AND uses > 0`, id, *customer); err != nil {
				return fmt.Errorf("offer.Release: %w", err)
			}
		}
	}
	return nil
}
