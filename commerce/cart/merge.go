package cart

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
)

// Merging a guest cart into the customer's cart, at sign-in
// (cartBuyerIdentityUpdate when the customer already has an active cart).
//
// The rule, the same on every channel:
//
//   - every line of the guest cart goes to the customer's cart. A variant in
//     both carts becomes one line whose quantity is the sum, capped at
//     MaxQuantity; the line keeps the channel that added the variant first
//     (the older of the two lines, so a kiosk line added before the phone's
//     stays a kiosk line) and its id, and records the merge as its last
//     change (the channel of the sign-in, now). Other guest lines move as
//     they are, with their ids, channels and dates.
//   - nothing is checked against stock or publication, and MaxLines may be
//     exceeded: the lines are the shopper's, a merge never drops one, and
//     checkout checks stock anyway.
//   - discount codes are the union: the customer's first, then the guest's
//     that are new (ignoring case), at most maxCodes in all.
//   - the pickup store is the customer cart's, or the guest's when the
//     customer cart has none.
//   - the guest cart becomes MERGED, empty, owned by the customer, with a
//     pointer to the customer's cart (mergedIntoId); its tokens are revoked
//     and its handoff codes burnt. Both carts' versions grow by one, which
//     notifies live views of both (the "cart" channel), and the merge
//     itself is announced on the Postgres channel "cart_merged" with
//     {"from": guest id, "into": customer cart id}, delivered at commit.
//
// Concurrency. Both carts are locked (FOR UPDATE) in id order before
// anything is read, so two merges, or a merge and the edits of either cart,
// never deadlock, and every edit is ordered before or after the merge as a
// whole: an edit of the guest cart committed before the merge took its lock
// is moved with the other lines; one that comes after finds the guest cart
// merged and its token revoked, and is refused with NOT_FOUND and a message
// that says so (never silently applied to a cart nobody reads). Edits of
// the customer's cart before or after simply add up with the moved lines,
// since lines are upserted with quantity = quantity + added.

// lockForAttach locks the cart id and the customer's active cart, in id
// order, and returns the latter when it is another cart than id.
func lockForAttach(ctx context.Context, tx pgx.Tx, id, customer commerce.ID) (*commerce.ID, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM carts
		WHERE id = $1 OR (customer_id = $2 AND status = 'active')
		ORDER BY id FOR UPDATE`, id, customer)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[commerce.ID])
	if err != nil {
		return nil, err
	}
	for _, other := range ids {
		if other != id {
			return &other, nil
		}
	}
	return nil, nil
}

// moveLinesSQL moves the guest cart's lines into the target cart by the
// rule above.
const moveLinesSQL = `WITH moved AS (
		DELETE FROM cart_lines WHERE cart_id = @guest
		RETURNING id, variant_id, quantity, channel_id, updated_channel_id, created_at, updated_at)
	INSERT INTO cart_lines AS l (cart_id, id, variant_id, quantity, channel_id, updated_channel_id, created_at, updated_at)
	SELECT @target, m.id, m.variant_id, least(m.quantity, @max_quantity), m.channel_id, m.updated_channel_id, m.created_at, m.updated_at
	FROM moved m
	ON CONFLICT (cart_id, variant_id) DO UPDATE SET
		quantity = least(l.quantity + EXCLUDED.quantity, @max_quantity),
		channel_id = CASE WHEN EXCLUDED.created_at < l.created_at THEN EXCLUDED.channel_id ELSE l.channel_id END,
		created_at = least(l.created_at, EXCLUDED.created_at),
		updated_channel_id = @channel,
		updated_at = now()`

// merge merges the guest cart into target, both locked by lockForAttach.
// The guest cart must be reachable with acc, active, a guest's, and at
// ifVersion when given; otherwise errNoBump, for change to explain.
func merge(ctx context.Context, tx pgx.Tx, acc access, guest, target commerce.ID, ch *channel.Channel, ifVersion *int) error {
	args := acc.args(guest)
	args["if_version"] = ifVersion
	var (
		guestCodes, targetCodes []string
		guestPickup             *commerce.ID
	)
	err := tx.QueryRow(ctx, `SELECT c.discount_codes, c.pickup_location_id FROM carts c
		WHERE `+reach+` AND c.status = 'active' AND c.customer_id IS NULL
			AND (@if_version::bigint IS NULL OR c.version = @if_version)`, args).Scan(&guestCodes, &guestPickup)
	if errors.Is(err, pgx.ErrNoRows) {
		return errNoBump
	}
	if err != nil {
		return err
	}
	if err := tx.QueryRow(ctx, `SELECT discount_codes FROM carts WHERE id = $1`, target).Scan(&targetCodes); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE carts SET version = version + 1, updated_at = now(), discount_codes = $2,
			pickup_location_id = coalesce(pickup_location_id, $3)
		WHERE id = $1`, target, unionCodes(targetCodes, guestCodes), guestPickup); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, moveLinesSQL, pgx.NamedArgs{"guest": guest, "target": target,
		"max_quantity": MaxQuantity, "channel": ch.ID}); err != nil {
		return err
	}
	event, _ := json.Marshal(map[string]commerce.ID{"from": guest, "into": target})
	_, err = tx.Exec(ctx, `WITH merged AS (
			UPDATE carts SET version = version + 1, updated_at = now(), status = 'merged',
				merged_into_id = $2, customer_id = $3
			WHERE id = $1),
		revoked AS (UPDATE cart_tokens SET revoked_at = now() WHERE cart_id = $1 AND revoked_at IS NULL),
		forgotten AS (DELETE FROM cart_idempotency_keys WHERE cart_id = $1),
		burned AS (DELETE FROM cart_handoffs WHERE cart_id = $1)
		SELECT pg_notify('cart_merged', $4)`, guest, target, *acc.customer, string(event))
	return err
}

// unionCodes returns the codes of a, then those of b that a lacks
// (ignoring case, as pricing compares them), at most maxCodes.
func unionCodes(a, b []string) []string {
	out := slices.Clone(a)
	for _, code := range b {
		if len(out) >= maxCodes {
			break
		}
		if !slices.ContainsFunc(out, func(prev string) bool { return strings.EqualFold(prev, code) }) {
			out = append(out, code)
		}
	}
	if out == nil {
		out = []string{} // the column is NOT NULL
	}
	return out
}
