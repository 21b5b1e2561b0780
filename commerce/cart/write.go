package cart

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

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

// soldOn is whether the variant's product is active and published on the
// channel (an SQL expression; NULL for no). A scalar subquery on the
// publication's key rather than EXISTS: for EXISTS the generic plan (see
// addPlans) hashes every publication of the channel at each call.
func soldOn(channel string) string {
	return `(p.status = 'active' AND (SELECT true FROM product_publications pub
		WHERE pub.product_id = p.id AND pub.channel_id = ` + channel + `))`
}

// addSQL adds lines to one cart or to several (a group of adds, see
// combine.go), one row out per input line, all or nothing for each cart.
// Each add ("call") gives its cart, how the request reaches it, its
// channel and ifVersion; each line the call it belongs to. A cart appears
// in one call at most.
//
// The bump takes only the carts target reached (reach is not evaluated
// again: its subquery would see the statement's snapshot anyway) and
// rechecks on the latest row what may have changed since the snapshot.
// "c.status = t.status" is "c.status = 'active'" (target holds active
// carts only) written so that the planner cannot scan the partial index of
// active carts: on a table without statistics it judged that cheaper than
// the key, and every group read every active cart.
//
// It checks every line first, on the statement's snapshot of the carts
// ("target", not locked): the variant is sold on the call's channel, priced
// in the cart's currency and in stock for the cart's quantity and this one,
// and the cart has room for the new lines. Only the carts whose lines all
// pass are bumped (taking their row lock) and get their lines written: a
// new variant is inserted, a variant already in the cart has its quantity
// raised atomically.
//
// All or nothing for each cart within the statement is what lets adds
// commit in the same round trip (pipelinedTx): nothing is ever left to
// roll back after a refusal. The one case the snapshot cannot settle is a
// concurrent add that raised the same line between the snapshot and the
// lock: ON CONFLICT sees the latest quantity, and if the sum is beyond the
// stock the statement fails with cart_add_raced() (SQLSTATE OC001,
// migration 0017) and the adds are tried again on a fresh snapshot. A
// bump refused because the cart's pickup store changed meanwhile (stock
// was checked at the old one) is tried again the same way.
var addSQL = `WITH calls AS (
		SELECT * FROM unnest(@carts::uuid[], @tokens::bytea[], @customers::uuid[], @staff::boolean[], @if_versions::bigint[], @channels::uuid[])
			WITH ORDINALITY AS a(cart_id, token, customer, staff, if_version, channel, call)
	), input AS (
		SELECT * FROM unnest(@calls::bigint[], @variants::uuid[], @quantities::int[], @line_ids::uuid[])
			WITH ORDINALITY AS i(call, variant_id, quantity, line_id, ord)
	), target AS (
		SELECT a.call, a.if_version, a.channel, c.id, c.status, c.currency_code, c.pickup_location_id
		FROM calls a CROSS JOIN LATERAL (SELECT c.id, c.status, c.currency_code, c.pickup_location_id FROM carts c
			WHERE ` + reachOf("a.cart_id", "a.token", "a.customer", "a.staff") + ` AND c.status = 'active' OFFSET 0) c -- see readManySQL
	), checked AS (
		SELECT i.call, i.ord, b.id AS cart_id, i.variant_id, i.quantity, i.line_id, coalesce(v.sku, '') AS sku,
			coalesce(` + soldOn("b.channel") + `, false) AS sold,
			EXISTS (SELECT 1 FROM variant_prices vp WHERE vp.variant_id = i.variant_id AND vp.currency_code = b.currency_code) AS priced,
			least(` + stockAt("i.variant_id") + `, @max_quantity) AS available,
			coalesce((SELECT x.quantity FROM cart_lines x WHERE x.cart_id = b.id AND x.variant_id = i.variant_id), 0) AS current
		FROM input i JOIN target b ON b.call = i.call
		LEFT JOIN variants v ON v.id = i.variant_id
		LEFT JOIN products p ON p.id = v.product_id
	), verdict AS (
		SELECT k.call, bool_and(k.sold AND k.priced AND k.current + k.quantity <= k.available) AS lines_ok,
			coalesce(bool_or(k.current = 0), false) AND
				(SELECT count(*) FROM cart_lines x WHERE x.cart_id = k.cart_id)
					+ count(*) FILTER (WHERE k.current = 0) > @max_lines AS full
		FROM checked k GROUP BY k.call, k.cart_id
	), bumped AS (
		UPDATE carts c SET version = c.version + 1, updated_at = now()
		FROM target t JOIN verdict v ON v.call = t.call
		WHERE c.id = t.id AND c.id = ANY (@carts::uuid[]) AND c.status = t.status
			AND (t.if_version IS NULL OR c.version = t.if_version)
			AND c.pickup_location_id IS NOT DISTINCT FROM t.pickup_location_id
			AND v.lines_ok AND NOT v.full
		RETURNING t.call, c.version
	), added AS (
		INSERT INTO cart_lines AS l (cart_id, id, variant_id, quantity, channel_id, updated_channel_id)
		SELECT k.cart_id, k.line_id, k.variant_id, k.quantity, t.channel, t.channel
		FROM checked k JOIN bumped b ON b.call = k.call JOIN target t ON t.call = k.call
		ON CONFLICT (cart_id, variant_id) DO UPDATE
			SET quantity = CASE WHEN l.quantity + EXCLUDED.quantity <= (SELECT k.available FROM checked k
					WHERE k.cart_id = EXCLUDED.cart_id AND k.variant_id = EXCLUDED.variant_id)
					THEN l.quantity + EXCLUDED.quantity ELSE cart_add_raced() END,
				updated_at = now(), updated_channel_id = EXCLUDED.updated_channel_id
		RETURNING l.cart_id
	)
	SELECT k.call, b.version, t.pickup_location_id, k.ord, k.variant_id, k.sku, k.sold, k.priced, k.available, k.current,
		v.full, (SELECT count(*) FROM added a WHERE a.cart_id = k.cart_id)::int
	FROM checked k JOIN target t ON t.call = k.call JOIN verdict v ON v.call = k.call LEFT JOIN bumped b ON b.call = k.call
	ORDER BY k.ord`

// errAddRaced is the SQLSTATE of cart_add_raced(): see addSQL.
const errAddRaced = "OC001"

// addStmt is addSQL with positional arguments, for the hot path.
var addStmt = toPositional(addSQL)

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
	return s.changeInto(ctx, "AddLines", id, token, ifVersion, func(acc access) (commerce.ID, *Cart, error) {
		ch, err := channel.Require(ctx)
		if err != nil {
			return id, nil, err
		}
		reqs, err := addRequests(lines, "lines")
		if err != nil {
			return id, nil, err
		}
		c, err := s.add(ctx, addCall{acc: acc, id: id, ch: ch, reqs: reqs, ifVersion: ifVersion, field: "lines"})
		return id, c, err
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

// addPlans sets how the rest of the transaction plans its statements (the
// add and the read of its carts), for as long as the transaction lasts:
//
//   - with their generic plan: Postgres otherwise plans addSQL anew at
//     every execution (it judges a plan for the actual arrays cheaper than
//     the generic one), which cost more than running it: ~0.8 ms of the
//     ~1.2 ms the statement took;
//   - with nested loops rather than hash or merge joins: the add's joins
//     pair a handful of rows (the calls, their lines, their carts), where
//     setting up hash tables and sorts cost more than the joins. Without
//     it the generic plan of an add to one cart took ~20 % more of
//     Postgres's time than the one-cart statement before groups (both in
//     docs/performance.md, issue 4).
const addPlans = `SELECT set_config('plan_cache_mode', 'force_generic_plan', true),
	set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)`

// batchSender is a transaction, or a connection of the pool.
type batchSender interface {
	SendBatch(context.Context, *pgx.Batch) pgx.BatchResults
}

// addLines runs one add call in q (see sendAdds), and returns the changed
// cart, or nil and why nothing changed.
func addLines(ctx context.Context, q batchSender, call *addCall, settings string, commit bool) (*Cart, error) {
	outs, err := sendAdds(ctx, q, []*addCall{call}, settings, commit, nil)
	if err != nil {
		return nil, err
	}
	return outs[0].cart, outs[0].err
}

// sendAdds runs addSQL for the calls in q, after the settings statement
// (addPlans or groupSettings; "" on the add pool, whose sessions have
// them: see addsOn), and returns each call's outcome, or the error that
// failed the transaction.
//
// With commit, q is a connection outside a transaction (see pipelinedTx):
// one round trip makes the changes, reads the changed carts and commits,
// which addSQL's all or nothing makes safe. The batch is its own
// transaction: Postgres runs the statements of one pipeline sync, given
// without BEGIN, as one implicit transaction that commits at the sync (or
// rolls back at the first error), which spares the BEGIN and COMMIT
// statements. answered, if given, is called once the statements have
// answered, before the commit's (the outcomes are final only after it).
// Without commit, q is the caller's transaction, and the carts are not
// read.
func sendAdds(ctx context.Context, q batchSender, calls []*addCall, settings string, commit bool, answered func()) ([]addOutcome, error) {
	batch := &pgx.Batch{}
	if settings != "" {
		batch.Queue(settings)
	}
	queueAdds(batch, calls, commit)
	br := q.SendBatch(ctx, batch)
	var err error
	if settings != "" {
		_, err = br.Exec()
	}
	var outs []addOutcome
	if err == nil {
		outs, err = addResults(br, calls, commit)
	}
	if err == nil && answered != nil {
		answered()
	}
	// Close reads up to the sync: with commit, a failure at commit (a
	// deferred constraint) is only reported here.
	if cerr := br.Close(); err == nil && cerr != nil {
		return nil, cerr
	}
	return outs, err
}

// addCall is one add of lines to one cart, as sendAdds takes it.
type addCall struct {
	acc       access
	id        commerce.ID
	ch        *channel.Channel
	reqs      []lineReq
	ifVersion *int
	field     string
}

// addOutcome is what came of one add call: its cart as the add left it
// (unpriced; nil without a read, or when the cart is not reachable), and
// why nothing changed, if nothing did (refused lines, errNoBump,
// errCartMoved).
type addOutcome struct {
	cart *Cart
	err  error
}

// queueAdds queues addSQL for the calls, which must be to different carts,
// and, with read, the read of their carts after it: in the same
// transaction and under the carts' row locks, so that each is exactly the
// cart its add made.
func queueAdds(batch *pgx.Batch, calls []*addCall, read bool) {
	n := len(calls)
	var (
		carts, channels   = make([]commerce.ID, n), make([]commerce.ID, n)
		tokens            = make([][]byte, n)
		customers         = make([]pgtype.UUID, n)
		staff             = make([]bool, n)
		ifVersions        = make([]pgtype.Int8, n)
		lineCalls         []int64
		variants, lineIDs []commerce.ID
		quantities        []int
	)
	for i, a := range calls {
		carts[i], channels[i], tokens[i], staff[i] = a.id, a.ch.ID, a.acc.tokenHash, a.acc.staff
		if a.acc.customer != nil {
			customers[i] = pgtype.UUID{Bytes: *a.acc.customer, Valid: true}
		}
		if a.ifVersion != nil {
			ifVersions[i] = pgtype.Int8{Int64: int64(*a.ifVersion), Valid: true}
		}
		for _, r := range a.reqs {
			lineCalls = append(lineCalls, int64(i+1))
			variants, quantities, lineIDs = append(variants, r.id), append(quantities, r.quantity), append(lineIDs, commerce.NewID())
		}
	}
	reached := pgx.NamedArgs{"carts": carts, "tokens": tokens, "customers": customers, "staff": staff}
	args := pgx.NamedArgs{"if_versions": ifVersions, "channels": channels, "calls": lineCalls,
		"variants": variants, "quantities": quantities, "line_ids": lineIDs, "max_quantity": MaxQuantity, "max_lines": MaxLines}
	maps.Copy(args, reached)
	batch.Queue(addStmt.sql, addStmt.args(args)...)
	if read {
		batch.Queue(readManyStmt.sql, readManyStmt.args(reached)...)
	}
}

// addResults takes from br the results of what queueAdds queued: each
// call's outcome, or the error that failed the statement (and so the
// transaction).
func addResults(br pgx.BatchResults, calls []*addCall, read bool) ([]addOutcome, error) {
	rows, err := br.Query()
	if err != nil {
		rows.Close()
		return nil, err
	}
	lines := make([][]addLineRow, len(calls))
	for rows.Next() {
		var r addLineRow
		if err := rows.Scan(&r.call, &r.version, &r.pickup, &r.ord, &r.variant, &r.sku, &r.sold, &r.priced, &r.available, &r.current,
			&r.full, &r.added); err != nil {
			rows.Close()
			return nil, err
		}
		if r.call < 1 || r.call > len(calls) {
			rows.Close()
			return nil, fmt.Errorf("cart: the add answered for call %d of %d", r.call, len(calls))
		}
		lines[r.call-1] = append(lines[r.call-1], r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var made map[commerce.ID]*Cart
	if read {
		// Taken whatever the outcomes, so that br moves on to what follows.
		rows, err := br.Query()
		if err != nil {
			rows.Close()
			return nil, err
		}
		carts, err := scanCarts(rows)
		if err != nil {
			return nil, err
		}
		made = make(map[commerce.ID]*Cart, len(carts))
		for _, c := range carts {
			made[c.ID] = c
		}
	}
	outs := make([]addOutcome, len(calls))
	first := 1 // addSQL's ord of the call's first line
	for i, a := range calls {
		outs[i].err = a.outcome(lines[i], first)
		if read {
			// A refused add's cart is read too, as the refusal left it;
			// one that is not reachable is not.
			outs[i].cart = made[a.id]
			if outs[i].err == nil && outs[i].cart == nil {
				return nil, fmt.Errorf("cart: %s changed but not read back", a.id)
			}
		}
		first += len(a.reqs)
	}
	return outs, nil
}

// addLineRow is a row of addSQL: one line of one call.
type addLineRow struct {
	call               int
	version            *int // nil: the cart was not bumped, nothing was written
	pickup             *commerce.ID
	ord                int
	variant            commerce.ID
	sku                string
	sold, priced       bool
	available, current int
	full               bool
	added              int
}

// outcome turns the rows of the call's lines (first: the ord of its first
// line) into nil if the lines were added, or the reason they were not.
func (a *addCall) outcome(outs []addLineRow, first int) error {
	if len(outs) == 0 {
		return errNoBump // not reachable or not active
	}
	if outs[0].version != nil {
		if outs[0].added != len(outs) { // addSQL writes every line or fails
			return fmt.Errorf("cart: the add wrote %d of %d lines", outs[0].added, len(outs))
		}
		return nil
	}
	var errs []error
	for _, o := range outs {
		r := a.reqs[o.ord-first]
		at := fmt.Sprintf("%s[%d]", a.field, r.index)
		switch {
		case !o.sold:
			errs = append(errs, &commerce.Error{Code: commerce.ErrNotFound, Field: at + ".merchandiseId",
				Message: "no variant with this id is sold on this channel"})
		case !o.priced:
			errs = append(errs, commerce.InvalidInput(at+".merchandiseId", "%s has no price in this cart's currency", o.sku))
		case o.current+r.quantity > MaxQuantity:
			errs = append(errs, commerce.InvalidInput(at+".quantity", "a line holds at most %d units", MaxQuantity))
		case o.current+r.quantity > o.available:
			errs = append(errs, &StockError{Field: at + ".quantity", VariantID: o.variant, SKU: o.sku,
				Requested: o.current + r.quantity, Available: o.available, pickup: o.pickup, origin: origin(o.pickup, a.ch)})
		}
	}
	// The count is the statement's snapshot, which does not see a
	// concurrent add's new lines: see MaxLines.
	if len(errs) == 0 && outs[0].full {
		errs = append(errs, commerce.InvalidInput(a.field, "a cart holds at most %d lines", MaxLines))
	}
	if len(errs) == 0 {
		// Every line passed, yet the cart was not bumped: it moved from
		// the version asked for, stopped being active, or changed its
		// pickup store since the snapshot.
		return errCartMoved
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
			coalesce(` + soldOn("@channel") + `, false) AS sold,
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

// errCartMoved is errNoBump for an add whose lines all passed on the
// statement's snapshot of a reachable, active cart: the cart changed
// between that snapshot and the bump. Worth another try without ifVersion.
var errCartMoved = fmt.Errorf("%w: the cart moved meanwhile", errNoBump)

// change runs one mutation of a cart: fn in a transaction (with retries),
// then a fresh read of the cart, priced. When fn refuses the change with
// user errors, nothing is written and the cart is returned as it is now,
// with them.
func (s *Service) change(ctx context.Context, op string, id commerce.ID, token string, ifVersion *int, fn func(pgx.Tx, access) error) (*Cart, error) {
	return s.changeInto(ctx, op, id, token, ifVersion, func(acc access) (commerce.ID, *Cart, error) {
		return id, nil, s.inTx(ctx, func(tx pgx.Tx) error { return fn(tx, acc) })
	})
}

// changeInto is change for a mutation whose result may be another cart
// than the one it was given (a guest cart merged into the customer's):
// run makes the change in its own transaction (with retries) and returns
// the cart to read afterwards. On a refusal the given cart is read. run may
// also return that cart already read in its transaction (unpriced, with
// the request's access), as the change made it or, on a refusal, as it
// left it: it is then priced, not read again.
func (s *Service) changeInto(ctx context.Context, op string, id commerce.ID, token string, ifVersion *int, run func(access) (commerce.ID, *Cart, error)) (*Cart, error) {
	acc := accessFor(ctx, token)
	result, fresh, err := run(acc)
	// Outbox events for cart changes, when a consumer needs them, go at
	// the end of fn's transaction: outbox.Enqueue(ctx, tx, queue, id).
	if err != nil && !errors.Is(err, errNoBump) && !isUserError(err) {
		return nil, fmt.Errorf("cart.%s: %w", op, err)
	}
	if ferr := s.fillStores(ctx, err); ferr != nil {
		return nil, fmt.Errorf("cart.%s: %w", op, ferr)
	}
	var (
		c    *Cart
		rerr error
	)
	if fresh != nil {
		c, rerr = fresh, s.completeAndPrice(ctx, s.pool, fresh)
	} else {
		if err != nil {
			result = id
		}
		c, rerr = s.find(ctx, s.pool, acc, result)
		if commerce.ErrorCode(rerr) == commerce.ErrNotFound {
			rerr = s.unreachable(ctx, acc, result, "cartId")
		}
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
		c, err = s.changeInto(ctx, "SetBuyerIdentity", id, token, ifVersion, func(acc access) (commerce.ID, *Cart, error) {
			var result commerce.ID
			err := s.inTx(ctx, func(tx pgx.Tx) error {
				result = id
				target, err := lockForAttach(ctx, tx, id, customer)
				if err != nil {
					return err
				}
				if target == nil {
					args := acc.args(id)
					args["if_version"] = ifVersion
					return bumpOnly(ctx, tx, attachSQL, args)
				}
				result = *target
				return merge(ctx, tx, acc, id, *target, ch, ifVersion)
			})
			return result, nil, err
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
