package cart

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
)

// bump is the first statement of every change: a CTE "bumped" that bumps
// the version of the cart the request may reach, if it is active and at
// the expected version, and returns it. set adds assignments and where
// conditions. Nothing else of a change may happen unless it returns a row:
// every later part of the statement reads from it, which also makes them
// run after the cart's row lock is taken.
func bump(set, where string) string {
	return `bumped AS (
		UPDATE carts c SET version = c.version + 1, updated_at = now()` + set + `
		WHERE ` + reach + ` AND c.status = 'active' AND (@if_version::bigint IS NULL OR c.version = @if_version)` + where + `
		RETURNING c.id, c.version, c.currency_code, c.pickup_location_id)`
}

// stockAt is the stock of the variant (an SQL expression) available at the
// cart's pickup store or, without one, everywhere (see the package doc). It
// must follow inventory.Level.Available: on hand less reserved, never below 0.
func stockAt(variant string) string {
	return `(SELECT coalesce(sum(greatest(s.on_hand - s.reserved, 0)), 0) FROM stock_levels s
		WHERE s.variant_id = ` + variant + ` AND (b.pickup_location_id IS NULL OR s.location_id = b.pickup_location_id))::int`
}

// soldHere is whether the variant's product is active and published on the
// request's channel.
const soldHere = `(p.status = 'active' AND EXISTS (SELECT 1 FROM product_publications pub
		WHERE pub.product_id = p.id AND pub.channel_id = @channel))`

// addSQL adds lines, one row out per input line. A new variant is
// inserted if it is sold here, priced in the cart's currency and in stock;
// a variant already in the cart has its quantity raised atomically, and
// the stock check of the raised quantity runs in ON CONFLICT's WHERE, on
// the latest version of the line, so concurrent adds cannot oversell it.
// RETURNING's xmax = 0 is Postgres's way of telling an inserted row from an
// updated one (an upsert's update leaves its locker in xmax).
var addSQL = `WITH input AS (
		SELECT * FROM unnest(@variants::uuid[], @quantities::int[], @line_ids::uuid[])
			WITH ORDINALITY AS i(variant_id, quantity, line_id, ord)
	), ` + bump("", "") + `, checked AS (
		SELECT i.ord, i.variant_id, i.quantity, i.line_id, coalesce(v.sku, '') AS sku,
			coalesce(` + soldHere + `, false) AS sold,
			EXISTS (SELECT 1 FROM variant_prices vp WHERE vp.variant_id = i.variant_id AND vp.currency_code = b.currency_code) AS priced,
			least(` + stockAt("i.variant_id") + `, @max_quantity) AS available,
			coalesce((SELECT x.quantity FROM cart_lines x WHERE x.cart_id = b.id AND x.variant_id = i.variant_id), 0) AS current
		FROM input i CROSS JOIN bumped b
		LEFT JOIN variants v ON v.id = i.variant_id
		LEFT JOIN products p ON p.id = v.product_id
	), added AS (
		INSERT INTO cart_lines AS l (cart_id, id, variant_id, quantity, channel_id, updated_channel_id)
		SELECT @cart, k.line_id, k.variant_id, k.quantity, @channel, @channel FROM checked k
		WHERE k.sold AND k.priced AND k.quantity <= k.available
		ON CONFLICT (cart_id, variant_id) DO UPDATE
			SET quantity = l.quantity + EXCLUDED.quantity, updated_at = now(), updated_channel_id = EXCLUDED.updated_channel_id
			WHERE l.quantity + EXCLUDED.quantity <= (SELECT k.available FROM checked k WHERE k.variant_id = EXCLUDED.variant_id)
		RETURNING l.variant_id, l.quantity, xmax = 0 AS inserted
	)
	SELECT b.version, b.pickup_location_id, k.ord, k.variant_id, k.sku, k.sold, k.priced, k.available, k.current,
		a.quantity IS NOT NULL, coalesce(a.inserted, false),
		(SELECT count(*) FROM cart_lines x WHERE x.cart_id = b.id)::int
	FROM bumped b CROSS JOIN checked k LEFT JOIN added a ON a.variant_id = k.variant_id
	ORDER BY k.ord`

// lineReq is one line of a request, with the index it had in the input.
type lineReq struct {
	id       commerce.ID // the variant (add) or the line (update)
	quantity int
	index    int
}

// AddLines adds variants to the cart; a variant already in it has its
// quantity raised. ifVersion, when given, makes the change conditional on
// the cart's version (CONFLICT otherwise).
func (s *Service) AddLines(ctx context.Context, id commerce.ID, token string, lines []LineInput, ifVersion *int) (*Cart, error) {
	return s.change(ctx, "AddLines", id, token, ifVersion, func(tx pgx.Tx, acc access) error {
		ch, err := channel.Require(ctx)
		if err != nil {
			return err
		}
		reqs, err := addRequests(lines, "lines")
		if err != nil {
			return err
		}
		return addLines(ctx, tx, acc, id, ch, reqs, ifVersion, "lines")
	})
}

// addRequests checks the lines of an add and merges repeated variants.
func addRequests(lines []LineInput, field string) ([]lineReq, error) {
	if len(lines) == 0 || len(lines) > maxLinesPerRequest {
		return nil, commerce.InvalidInput(field, "give between 1 and %d lines", maxLinesPerRequest)
	}
	var (
		reqs []lineReq
		errs []error
		at   = make(map[commerce.ID]int, len(lines))
	)
	for i, l := range lines {
		if l.Quantity < 1 || l.Quantity > MaxQuantity {
			errs = append(errs, commerce.InvalidInput(fmt.Sprintf("%s[%d].quantity", field, i), "a quantity is between 1 and %d", MaxQuantity))
			continue
		}
		if k, ok := at[l.VariantID]; ok {
			reqs[k].quantity = min(reqs[k].quantity+l.Quantity, MaxQuantity+1) // too much is refused below
			continue
		}
		at[l.VariantID] = len(reqs)
		reqs = append(reqs, lineReq{id: l.VariantID, quantity: l.Quantity, index: i})
	}
	for _, r := range reqs {
		if r.quantity > MaxQuantity {
			errs = append(errs, commerce.InvalidInput(fmt.Sprintf("%s[%d].quantity", field, r.index), "a line holds at most %d units", MaxQuantity))
		}
	}
	return reqs, errors.Join(errs...)
}

// addLines runs addSQL in tx and turns refused lines into errors.
func addLines(ctx context.Context, tx pgx.Tx, acc access, id commerce.ID, ch *channel.Channel, reqs []lineReq, ifVersion *int, field string) error {
	variants, quantities, lineIDs := make([]commerce.ID, len(reqs)), make([]int, len(reqs)), make([]commerce.ID, len(reqs))
	for i, r := range reqs {
		variants[i], quantities[i], lineIDs[i] = r.id, r.quantity, commerce.NewID()
	}
	args := acc.args(id)
	args["if_version"], args["channel"], args["max_quantity"] = ifVersion, ch.ID, MaxQuantity
	args["variants"], args["quantities"], args["line_ids"] = variants, quantities, lineIDs
	rows, err := tx.Query(ctx, addSQL, args)
	if err != nil {
		return err
	}
	type outcome struct {
		version            int
		pickup             *commerce.ID
		ord                int
		variant            commerce.ID
		sku                string
		sold, priced       bool
		available, current int
		applied, inserted  bool
		linesSeen          int
	}
	var outs []outcome
	for rows.Next() {
		var o outcome
		if err := rows.Scan(&o.version, &o.pickup, &o.ord, &o.variant, &o.sku, &o.sold, &o.priced, &o.available, &o.current,
			&o.applied, &o.inserted, &o.linesSeen); err != nil {
			rows.Close()
			return err
		}
		outs = append(outs, o)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(outs) == 0 {
		return errNoBump
	}
	var errs []error
	inserted := 0
	for _, o := range outs {
		r := reqs[o.ord-1]
		at := fmt.Sprintf("%s[%d]", field, r.index)
		switch {
		case !o.sold:
			errs = append(errs, &commerce.Error{Code: commerce.ErrNotFound, Field: at + ".merchandiseId",
				Message: "no variant with this id is sold on this channel"})
		case !o.priced:
			errs = append(errs, commerce.InvalidInput(at+".merchandiseId", "%s has no price in this cart's currency", o.sku))
		case !o.applied && o.current+r.quantity > MaxQuantity:
			errs = append(errs, commerce.InvalidInput(at+".quantity", "a line holds at most %d units", MaxQuantity))
		case !o.applied:
			errs = append(errs, &StockError{Field: at + ".quantity", VariantID: o.variant, SKU: o.sku,
				Requested: o.current + r.quantity, Available: o.available, pickup: o.pickup, origin: origin(o.pickup, ch)})
		case o.inserted:
			inserted++
		}
	}
	// The count is the statement's snapshot, which does not see its own
	// inserts (nor, in a race, a concurrent add's): see MaxLines.
	if len(errs) == 0 && outs[0].linesSeen+inserted > MaxLines {
		errs = append(errs, commerce.InvalidInput(field, "a cart holds at most %d lines", MaxLines))
	}
	return errors.Join(errs...)
}

// origin is where distances to other stores are measured from: the pickup
// store, else the store the channel stands in.
func origin(pickup *commerce.ID, ch *channel.Channel) *commerce.ID {
	if pickup != nil {
		return pickup
	}
	return ch.LocationID
}

// updateSQL sets line quantities (0 removes), one row out per input line.
// Raising a line is checked against stock like an add, and only through a
// channel that sells the variant; lowering it is always allowed. The
// conditions on l.quantity are rechecked by Postgres on the latest version
// of a line changed concurrently.
var updateSQL = `WITH input AS (
		SELECT * FROM unnest(@line_ids::uuid[], @quantities::int[]) WITH ORDINALITY AS i(line_id, quantity, ord)
	), ` + bump("", "") + `, current AS (
		SELECT i.ord, i.line_id, i.quantity, l.variant_id, l.quantity AS old_quantity, coalesce(v.sku, '') AS sku,
			coalesce(` + soldHere + `, false) AS sold,
			EXISTS (SELECT 1 FROM variant_prices vp WHERE vp.variant_id = l.variant_id AND vp.currency_code = b.currency_code) AS priced,
			least(` + stockAt("l.variant_id") + `, @max_quantity) AS available
		FROM input i CROSS JOIN bumped b
		LEFT JOIN cart_lines l ON l.cart_id = b.id AND l.id = i.line_id
		LEFT JOIN variants v ON v.id = l.variant_id
		LEFT JOIN products p ON p.id = v.product_id
	), changed AS (
		UPDATE cart_lines l SET quantity = k.quantity, updated_at = now(), updated_channel_id = @channel
		FROM current k
		WHERE l.cart_id = @cart AND l.id = k.line_id AND k.quantity > 0
			AND (k.quantity <= l.quantity OR (k.sold AND k.priced AND k.quantity <= k.available))
		RETURNING l.id
	), removed AS (
		DELETE FROM cart_lines l USING current k
		WHERE l.cart_id = @cart AND l.id = k.line_id AND k.quantity = 0
		RETURNING l.id
	)
	SELECT b.version, b.pickup_location_id, k.ord, k.variant_id, k.sku, k.sold, k.priced, k.available,
		ch.id IS NOT NULL OR r.id IS NOT NULL
	FROM bumped b CROSS JOIN current k
	LEFT JOIN changed ch ON ch.id = k.line_id LEFT JOIN removed r ON r.id = k.line_id
	ORDER BY k.ord`

// UpdateLines sets the quantities of lines; a quantity of 0 removes the
// line. A line that is not in the cart is NOT_FOUND and nothing changes.
func (s *Service) UpdateLines(ctx context.Context, id commerce.ID, token string, lines []LineUpdate, ifVersion *int) (*Cart, error) {
	return s.change(ctx, "UpdateLines", id, token, ifVersion, func(tx pgx.Tx, acc access) error {
		ch, err := channel.Require(ctx)
		if err != nil {
			return err
		}
		if len(lines) == 0 || len(lines) > maxLinesPerRequest {
			return commerce.InvalidInput("lines", "give between 1 and %d lines", maxLinesPerRequest)
		}
		var errs []error
		seen := make(map[commerce.ID]bool, len(lines))
		lineIDs, quantities := make([]commerce.ID, len(lines)), make([]int, len(lines))
		for i, l := range lines {
			if l.Quantity < 0 || l.Quantity > MaxQuantity {
				errs = append(errs, commerce.InvalidInput(fmt.Sprintf("lines[%d].quantity", i), "a quantity is between 0 (remove) and %d", MaxQuantity))
			}
			if seen[l.ID] {
				errs = append(errs, commerce.InvalidInput(fmt.Sprintf("lines[%d].id", i), "this line is given twice"))
			}
			seen[l.ID] = true
			lineIDs[i], quantities[i] = l.ID, l.Quantity
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		args := acc.args(id)
		args["if_version"], args["channel"], args["max_quantity"] = ifVersion, ch.ID, MaxQuantity
		args["line_ids"], args["quantities"] = lineIDs, quantities
		rows, err := tx.Query(ctx, updateSQL, args)
		if err != nil {
			return err
		}
		var (
			version, ord, available int
			pickup, variant         *commerce.ID
			sku                     string
			sold, priced, applied   bool
			bumped                  bool
		)
		_, err = pgx.ForEachRow(rows, []any{&version, &pickup, &ord, &variant, &sku, &sold, &priced, &available, &applied}, func() error {
			bumped = true
			if applied {
				return nil
			}
			i := ord - 1
			at := fmt.Sprintf("lines[%d]", i)
			switch {
			case variant == nil:
				errs = append(errs, &commerce.Error{Code: commerce.ErrNotFound, Field: at + ".id", Message: "no line with this id in the cart"})
			case !sold:
				errs = append(errs, commerce.InvalidInput(at+".quantity", "%s is not sold on this channel: its quantity can only be lowered here", sku))
			case !priced:
				errs = append(errs, commerce.InvalidInput(at+".quantity", "%s has no price in this cart's currency", sku))
			default:
				errs = append(errs, &StockError{Field: at + ".quantity", VariantID: *variant, SKU: sku, Requested: quantities[i],
					Available: available, pickup: copyID(pickup), origin: copyID(origin(pickup, ch))})
			}
			return nil
		})
		if err != nil {
			return err
		}
		if !bumped {
			return errNoBump
		}
		return errors.Join(errs...)
	})
}

func copyID(id *commerce.ID) *commerce.ID {
	if id == nil {
		return nil
	}
	c := *id
	return &c
}

// errNoBump reports that a change's first statement matched no cart: the
// cart is not reachable, not active, or not at the expected version.
// change tells which from a fresh read.
var errNoBump = errors.New("cart: no cart changed")

// change runs one mutation of a cart: fn in a transaction (with retries),
// then a fresh read of the cart, priced. When fn refuses the change with
// user errors, nothing is written and the cart is returned as it is now,
// with them.
func (s *Service) change(ctx context.Context, op string, id commerce.ID, token string, ifVersion *int, fn func(pgx.Tx, access) error) (*Cart, error) {
	return s.changeInto(ctx, op, id, token, ifVersion, func(tx pgx.Tx, acc access) (commerce.ID, error) {
		return id, fn(tx, acc)
	})
}

// changeInto is change for a mutation whose result may be another cart
// than the one it was given (a guest cart merged into the customer's): fn
// returns the cart to read afterwards. On a refusal the given cart is read.
func (s *Service) changeInto(ctx context.Context, op string, id commerce.ID, token string, ifVersion *int, fn func(pgx.Tx, access) (commerce.ID, error)) (*Cart, error) {
	acc := accessFor(ctx, token)
	result := id
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		result, err = fn(tx, acc)
		return err
	})
	// Outbox events for cart changes, when a consumer needs them, go at
	// the end of fn's transaction: outbox.Enqueue(ctx, tx, queue, id).
	if err != nil && !errors.Is(err, errNoBump) && !isUserError(err) {
		return nil, fmt.Errorf("cart.%s: %w", op, err)
	}
	if ferr := s.fillStores(ctx, err); ferr != nil {
		return nil, fmt.Errorf("cart.%s: %w", op, ferr)
	}
	if err != nil {
		result = id
	}
	c, rerr := s.find(ctx, s.pool, acc, result)
	if commerce.ErrorCode(rerr) == commerce.ErrNotFound {
		rerr = s.unreachable(ctx, acc, result, "cartId")
	}
	if rerr != nil {
		return nil, fmt.Errorf("cart.%s: %w", op, rerr)
	}
	if errors.Is(err, errNoBump) {
		err = refusal(c, ifVersion)
	}
	if err != nil {
		return c, fmt.Errorf("cart.%s: %w", op, err)
	}
	return c, nil
}

// refusal explains why a reachable cart did not change.
func refusal(c *Cart, ifVersion *int) error {
	switch {
	case c.Status != Active:
		return &commerce.Error{Code: commerce.ErrConflict, Field: "cartId", Message: fmt.Sprintf("this cart is %s and can no longer change", c.Status)}
	case ifVersion != nil && c.Version != *ifVersion:
		return &commerce.Error{Code: commerce.ErrConflict, Field: "ifVersion",
			Message: fmt.Sprintf("the cart changed since version %d: it is at version %d", *ifVersion, c.Version)}
	}
	// The cart was not active or not at the version then, and is again now:
	// another device is changing it at this very moment.
	return &commerce.Error{Code: commerce.ErrConflict, Field: "cartId", Message: "the cart changed at the same time; try again"}
}

// isUserError tells whether err is made only of errors a client can act on,
// however joined or wrapped: then the change is refused, not failed.
func isUserError(err error) bool {
	if _, ok := err.(*StockError); ok {
		return true
	}
	if ce, ok := err.(*commerce.Error); ok {
		switch ce.Code {
		case commerce.ErrInvalidInput, commerce.ErrConflict, commerce.ErrNotFound, commerce.ErrOutOfStock, commerce.ErrRateLimited:
			return true
		}
		return false
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if !isUserError(e) {
				return false
			}
		}
		return true
	case interface{ Unwrap() error }:
		if next := u.Unwrap(); next != nil {
			return isUserError(next)
		}
	}
	return false
}

// UserErrors returns the errors of a refused change, each a *commerce.Error
// or a *StockError, or nil when err is not made only of those (a failure:
// report it whole).
func UserErrors(err error) []error {
	if err == nil || !isUserError(err) {
		return nil
	}
	var out []error
	var walk func(error)
	walk = func(e error) {
		switch v := e.(type) {
		case *StockError, *commerce.Error:
			out = append(out, v)
			return
		case interface{ Unwrap() []error }:
			for _, e := range v.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(v.Unwrap())
		}
	}
	walk(err)
	return out
}

// constraintError maps the cart's constraint violations to client errors,
// in one place.
func constraintError(err error) error {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	if !ok {
		return err
	}
	switch pgErr.ConstraintName {
	case "carts_customer_active_key":
		// SetBuyerIdentity merges when the customer has a cart, and tries
		// again when one appeared meanwhile; this is left for a customer
		// making carts on several devices faster than its retries.
		return &commerce.Error{Code: commerce.ErrConflict, Field: "cartId", Err: err,
			Message: "your cart changed on another device at the same time; try again"}
	}
	return err
}

// requestHash fingerprints a create request for its idempotency key.
func requestHash(reqs []lineReq) []byte {
	var b strings.Builder
	for _, r := range reqs {
		fmt.Fprintf(&b, "%s:%d;", r.id, r.quantity)
	}
	h := sha256.Sum256([]byte(b.String()))
	return h[:]
}

// normalizeCodes trims the codes, drops repeats (ignoring letter case, as
// pricing compares them) and checks them.
func normalizeCodes(codes []string) ([]string, error) {
	if len(codes) > maxCodes {
		return nil, commerce.InvalidInput("discountCodes", "a cart takes at most %d codes", maxCodes)
	}
	out := make([]string, 0, len(codes))
	var errs []error
	for i, raw := range codes {
		code := strings.TrimSpace(raw)
		field := fmt.Sprintf("discountCodes[%d]", i)
		switch {
		case code == "":
			errs = append(errs, commerce.InvalidInput(field, "a code cannot be empty"))
			continue
		case len(code) > maxCodeLen:
			errs = append(errs, commerce.InvalidInput(field, "a code has at most %d characters", maxCodeLen))
			continue
		case strings.IndexFunc(code, unicode.IsControl) >= 0:
			errs = append(errs, commerce.InvalidInput(field, "a code cannot hold control characters"))
			continue
		}
		if !slices.ContainsFunc(out, func(prev string) bool { return strings.EqualFold(prev, code) }) {
			out = append(out, code)
		}
	}
	return out, errors.Join(errs...)
}

var removeSQL = `WITH ` + bump("", "") + `, removed AS (
		DELETE FROM cart_lines l USING bumped b WHERE l.cart_id = b.id AND l.id = ANY(@line_ids::uuid[])
		RETURNING l.id)
	SELECT ARRAY(SELECT id FROM removed) FROM bumped`

// RemoveLines removes lines from the cart. A line that is not in it is
// NOT_FOUND and nothing is removed: a client removing what another device
// removed first learns it from the fresh cart returned with the error.
func (s *Service) RemoveLines(ctx context.Context, id commerce.ID, token string, lineIDs []commerce.ID, ifVersion *int) (*Cart, error) {
	return s.change(ctx, "RemoveLines", id, token, ifVersion, func(tx pgx.Tx, acc access) error {
		if len(lineIDs) == 0 || len(lineIDs) > maxLinesPerRequest {
			return commerce.InvalidInput("lineIds", "give between 1 and %d lines", maxLinesPerRequest)
		}
		args := acc.args(id)
		args["if_version"], args["line_ids"] = ifVersion, lineIDs
		var removed []commerce.ID
		err := tx.QueryRow(ctx, removeSQL, args).Scan(&removed)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoBump
		}
		if err != nil {
			return err
		}
		var errs []error
		for i, l := range lineIDs {
			if !slices.Contains(removed, l) {
				errs = append(errs, &commerce.Error{Code: commerce.ErrNotFound, Field: fmt.Sprintf("lineIds[%d]", i), Message: "no line with this id in the cart"})
			}
		}
		return errors.Join(errs...)
	})
}

var codesSQL = `WITH ` + bump(", discount_codes = @codes", "") + ` SELECT version FROM bumped`

// SetDiscountCodes replaces the cart's discount codes. Codes are kept as
// entered (trimmed, without repeats); whether each applies is decided on
// every read, with the offers of that moment.
func (s *Service) SetDiscountCodes(ctx context.Context, id commerce.ID, token string, codes []string, ifVersion *int) (*Cart, error) {
	return s.change(ctx, "SetDiscountCodes", id, token, ifVersion, func(tx pgx.Tx, acc access) error {
		codes, err := normalizeCodes(codes)
		if err != nil {
			return err
		}
		args := acc.args(id)
		args["if_version"], args["codes"] = ifVersion, codes
		return bumpOnly(ctx, tx, codesSQL, args)
	})
}

// bumpOnly runs a change that is only its bump statement.
func bumpOnly(ctx context.Context, tx pgx.Tx, sql string, args pgx.NamedArgs) error {
	var version int
	err := tx.QueryRow(ctx, sql, args).Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		return errNoBump
	}
	return constraintError(err)
}

// attachSQL gives a guest cart to the signed-in customer and revokes its
// tokens, idempotency keys and handoff codes: from now on its owner reaches
// it by signing in, and a token left on a shared device (a kiosk) no longer
// opens a customer's cart. Tokens are marked revoked rather than deleted,
// so that their device can be told why they stopped working.
var attachSQL = `WITH ` + bump(", customer_id = @customer", " AND c.customer_id IS NULL") + `,
	revoked AS (UPDATE cart_tokens t SET revoked_at = now() FROM bumped b WHERE t.cart_id = b.id AND t.revoked_at IS NULL),
	forgotten AS (DELETE FROM cart_idempotency_keys k USING bumped b WHERE k.cart_id = b.id),
	burned AS (DELETE FROM cart_handoffs h USING bumped b WHERE h.cart_id = b.id)
	SELECT version FROM bumped`

// SetBuyerIdentity gives the cart to the signed-in customer, who then
// finds it on every device. The cart must be a guest cart reached with its
// token (attaching the customer's own cart again changes nothing). When
// the customer already has an active cart, the guest cart is merged into
// it (see merge.go) and the customer's cart is returned.
func (s *Service) SetBuyerIdentity(ctx context.Context, id commerce.ID, token string, ifVersion *int) (*Cart, error) {
	customer, ok := commerce.CustomerFrom(ctx)
	if !ok {
		return nil, commerce.Errorf(commerce.ErrUnauthenticated, "sign in to attach a cart to your account")
	}
	ch, err := channel.Require(ctx)
	if err != nil {
		return nil, err
	}
	var c *Cart
	for attempt := 1; ; attempt++ {
		c, err = s.changeInto(ctx, "SetBuyerIdentity", id, token, ifVersion, func(tx pgx.Tx, acc access) (commerce.ID, error) {
			target, err := lockForAttach(ctx, tx, id, customer)
			if err != nil {
				return id, err
			}
			if target == nil {
				args := acc.args(id)
				args["if_version"] = ifVersion
				return id, bumpOnly(ctx, tx, attachSQL, args)
			}
			return *target, merge(ctx, tx, acc, id, *target, ch, ifVersion)
		})
		// The customer made a cart on another device after the lock's
		// snapshot, so the attach met it at the unique index: look again,
		// and merge into it this time.
		if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.ConstraintName == "carts_customer_active_key" && attempt < 3 {
			continue
		}
		break
	}
	if c != nil && c.Status == Active && c.CustomerID != nil && commerce.ErrorCode(err) == commerce.ErrConflict && (ifVersion == nil || *ifVersion == c.Version) {
		if *c.CustomerID == customer {
			return c, nil // already the customer's
		}
		return c, fmt.Errorf("cart.SetBuyerIdentity: %w", &commerce.Error{Code: commerce.ErrConflict, Field: "cartId",
			Message: "this cart belongs to another customer"})
	}
	return c, err
}

// SetPickupStore chooses the store the shopper will collect from (nil: no
// store, ship instead). It must be a store offering pickup, and it must
// have every line's quantity: each line it lacks is an OUT_OF_STOCK error
// naming the nearest stores that have it.
func (s *Service) SetPickupStore(ctx context.Context, id commerce.ID, token string, locationID *commerce.ID, ifVersion *int) (*Cart, error) {
	return s.change(ctx, "SetPickupStore", id, token, ifVersion, func(tx pgx.Tx, acc access) error {
		if locationID != nil {
			var pickup bool
			err := tx.QueryRow(ctx, `SELECT kind = 'store' AND pickup_enabled FROM locations WHERE id = $1`, *locationID).Scan(&pickup)
			if errors.Is(err, pgx.ErrNoRows) || (err == nil && !pickup) {
				return commerce.InvalidInput("storeId", "no store offering pickup has this id")
			}
			if err != nil {
				return err
			}
		}
		args := acc.args(id)
		args["if_version"], args["location"] = ifVersion, locationID
		if err := bumpOnly(ctx, tx, `WITH `+bump(", pickup_location_id = @location", "")+` SELECT version FROM bumped`, args); err != nil || locationID == nil {
			return err
		}
		// The cart's row lock is held from here: no line can change until
		// commit, and this statement sees every change committed before.
		rows, err := tx.Query(ctx, `SELECT l.variant_id, v.sku, l.quantity, coalesce(greatest(s.on_hand - s.reserved, 0), 0)
			FROM cart_lines l JOIN variants v ON v.id = l.variant_id
			LEFT JOIN stock_levels s ON s.variant_id = l.variant_id AND s.location_id = $2
			WHERE l.cart_id = $1 AND l.quantity > coalesce(greatest(s.on_hand - s.reserved, 0), 0)
			ORDER BY l.id`, id, *locationID)
		if err != nil {
			return err
		}
		var (
			errs             []error
			variant          commerce.ID
			sku              string
			quantity, onHand int
		)
		_, err = pgx.ForEachRow(rows, []any{&variant, &sku, &quantity, &onHand}, func() error {
			errs = append(errs, &StockError{Field: "storeId", VariantID: variant, SKU: sku, Requested: quantity, Available: onHand,
				pickup: copyID(locationID), origin: copyID(locationID)})
			return nil
		})
		if err != nil {
			return err
		}
		return errors.Join(errs...)
	})
}
