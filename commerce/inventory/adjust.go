package inventory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
)

// maxKeyLen bounds staff idempotency keys and reasons; maxUnits a delta or
// a count (the stock columns are 32-bit).
const (
	maxKeyLen    = 200
	maxReasonLen = 500
	maxUnits     = 1_000_000_000
)

// Adjustment is a staff change of the units on hand of one variant at one
// location: goods received, or a correction (count, damage, loss). Exactly
// one of Delta and SetOnHand is given.
type Adjustment struct {
	VariantID  commerce.ID
	LocationID commerce.ID
	// Delta adds units (negative removes them); on hand cannot go below 0.
	Delta *int
	// SetOnHand sets the units on hand to a counted number.
	SetOnHand *int
	// Kind is KindReceived (a positive Delta) or KindAdjusted (the default).
	Kind Kind
	// Reason says why; required for an adjustment.
	Reason string
	// IdempotencyKey, when given, makes a retry return the first call's
	// movement instead of adjusting twice.
	IdempotencyKey string
}

// Movement is one row of the stock ledger.
type Movement struct {
	ID            commerce.ID  `db:"id"`
	VariantID     commerce.ID  `db:"variant_id"`
	LocationID    commerce.ID  `db:"location_id"`
	Kind          Kind         `db:"kind"`
	OnHandDelta   int          `db:"on_hand_delta"`
	ReservedDelta int          `db:"reserved_delta"`
	OnHandAfter   int          `db:"on_hand_after"`
	ReservedAfter int          `db:"reserved_after"`
	Reason        string       `db:"reason"`
	StaffID       *commerce.ID `db:"staff_id"`
	OrderID       *commerce.ID `db:"order_id"`
	FeedKey       *string      `db:"feed_key"`
	CreatedAt     time.Time    `db:"created_at"`
}

// AvailableAfter is what could be sold right after the movement.
func (m Movement) AvailableAfter() int { return max(m.OnHandAfter-m.ReservedAfter, 0) }

// stockRoles may change stock; associates only at their own locations.
var stockRoles = []commerce.Role{commerce.RoleAdmin, commerce.RoleMerchandiser, commerce.RoleAssociate}

// requireLocation returns the principal if it may act on stock at loc.
func requireLocation(ctx context.Context, loc commerce.ID) (commerce.Principal, error) {
	p, err := commerce.RequireRole(ctx, stockRoles...)
	if err != nil {
		return p, err
	}
	if !p.InLocation(loc) {
		return p, commerce.Errorf(commerce.ErrForbidden, "you do not work at this location")
	}
	return p, nil
}

// Validate reports every problem of the adjustment, joined.
func (a *Adjustment) Validate() error {
	var errs []error
	if a.Kind == "" {
		a.Kind = KindAdjusted
	}
	if a.VariantID == (commerce.ID{}) {
		errs = append(errs, commerce.InvalidInput("variantId", "missing variant id"))
	}
	if a.LocationID == (commerce.ID{}) {
		errs = append(errs, commerce.InvalidInput("locationId", "missing location id"))
	}
	switch {
	case (a.Delta == nil) == (a.SetOnHand == nil):
		errs = append(errs, commerce.InvalidInput("delta", "give exactly one of delta and setOnHand"))
	case a.Delta != nil && *a.Delta == 0:
		errs = append(errs, commerce.InvalidInput("delta", "a delta of 0 changes nothing"))
	case a.SetOnHand != nil && *a.SetOnHand < 0:
		errs = append(errs, commerce.InvalidInput("setOnHand", "on hand cannot be negative"))
	case a.SetOnHand != nil && *a.SetOnHand > maxUnits:
		errs = append(errs, commerce.InvalidInput("setOnHand", "on hand is at most %d", maxUnits))
	case a.Delta != nil && (*a.Delta > maxUnits || *a.Delta < -maxUnits):
		errs = append(errs, commerce.InvalidInput("delta", "a delta is at most %d units either way", maxUnits))
	}
	switch a.Kind {
	case KindReceived:
		if a.Delta == nil || *a.Delta < 0 {
			errs = append(errs, commerce.InvalidInput("kind", "goods received are a positive delta"))
		}
	case KindAdjusted:
		if a.Reason == "" {
			errs = append(errs, commerce.InvalidInput("reason", "say why the stock is adjusted"))
		}
	default:
		errs = append(errs, commerce.InvalidInput("kind", "staff record goods received or adjustments, not %q", a.Kind))
	}
	if len(a.Reason) > maxReasonLen {
		errs = append(errs, commerce.InvalidInput("reason", "a reason has at most %d characters", maxReasonLen))
	}
	if len(a.IdempotencyKey) > maxKeyLen {
		errs = append(errs, commerce.InvalidInput("idempotencyKey", "an idempotency key has at most %d characters", maxKeyLen))
	}
	return errors.Join(errs...)
}

// AdjustStock changes the units on hand of one variant at one location and
// writes the ledger row, with the staff user who did it. Merchandisers and
// admins may adjust anywhere, associates only at their own locations. It
// returns the movement written (or, for a replayed idempotency key, the one
// the first call wrote).
func (s *Service) AdjustStock(ctx context.Context, a Adjustment) (*Movement, error) {
	who, err := requireLocation(ctx, a.LocationID)
	if err != nil {
		return nil, fmt.Errorf("inventory.AdjustStock: %w", err)
	}
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("inventory.AdjustStock: %w", err)
	}
	var out *Movement
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		id := commerce.NewID()
		if a.IdempotencyKey != "" {
			replayed, first, err := db.ClaimStaffKey(ctx, tx, who.StaffID, a.IdempotencyKey, "inventoryAdjust", a)
			if err != nil {
				return err
			}
			if replayed {
				out, err = findMovement(ctx, tx, first)
				return err
			}
			if err := db.SetStaffKeyResult(ctx, tx, who.StaffID, a.IdempotencyKey, id); err != nil {
				return err
			}
		}
		if err := ensureLevel(ctx, tx, a.VariantID, a.LocationID); err != nil {
			return levelConstraintError(err)
		}
		c := change{id: id, variant: a.VariantID, location: a.LocationID, kind: a.Kind, reason: a.Reason, staffID: &who.StaffID}
		guard := ` AND on_hand + $3 >= 0`
		if a.SetOnHand != nil {
			cur, err := lockLevel(ctx, tx, a.VariantID, a.LocationID)
			if err != nil {
				return err
			}
			c.onHand, guard = *a.SetOnHand-cur.onHand, ""
		} else {
			c.onHand = *a.Delta
		}
		_, ok, err := apply(ctx, tx, c, guard)
		if err != nil {
			return err
		}
		if !ok {
			cur, err := lockLevel(ctx, tx, a.VariantID, a.LocationID)
			if err != nil {
				return err
			}
			return commerce.InvalidInput("delta", "only %d on hand: cannot remove %d", cur.onHand, -c.onHand)
		}
		out, err = findMovement(ctx, tx, id)
		return err
	})
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "22003" {
		err = &commerce.Error{Code: commerce.ErrInvalidInput, Field: "delta", Err: err, Message: "too many units on hand"}
	}
	if err != nil {
		return nil, fmt.Errorf("inventory.AdjustStock: %w", err)
	}
	return out, nil
}

// levelConstraintError names the missing variant or location.
func levelConstraintError(err error) error {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch pgErr.ConstraintName {
		case "stock_levels_variant_id_fkey":
			return &commerce.Error{Code: commerce.ErrNotFound, Field: "variantId", Message: "variant not found", Err: err}
		case "stock_levels_location_id_fkey":
			return &commerce.Error{Code: commerce.ErrNotFound, Field: "locationId", Message: "location not found", Err: err}
		}
	}
	return err
}

const movementColumns = `id, variant_id, location_id, kind, on_hand_delta, reserved_delta, on_hand_after,
	reserved_after, reason, staff_id, order_id, feed_key, created_at`

func findMovement(ctx context.Context, q db.Querier, id commerce.ID) (*Movement, error) {
	rows, err := q.Query(ctx, `SELECT `+movementColumns+` FROM stock_movements WHERE id = $1`, id)
	m, err := db.One[Movement](rows, err, "stock movement")
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// MovementFilter selects ledger rows; zero fields select everything.
type MovementFilter struct {
	VariantID  *commerce.ID
	LocationID *commerce.ID
	OrderID    *commerce.ID
	Kind       *Kind
	// First is the page size, at most 250.
	First int
	// After is the id of the last movement of the previous page.
	After *commerce.ID
}

// MovementPage is one page of the ledger, newest first.
type MovementPage struct {
	Movements []Movement
	HasNext   bool
}

// FindMovements reads the ledger, newest first, one page at a time.
// Merchandisers and admins read every location; associates only their own.
func (s *Service) FindMovements(ctx context.Context, f MovementFilter) (MovementPage, error) {
	p, err := commerce.RequireRole(ctx, stockRoles...)
	if err != nil {
		return MovementPage{}, fmt.Errorf("inventory.FindMovements: %w", err)
	}
	if f.LocationID != nil && !p.InLocation(*f.LocationID) {
		return MovementPage{}, fmt.Errorf("inventory.FindMovements: %w",
			commerce.Errorf(commerce.ErrForbidden, "you do not work at this location"))
	}
	if f.First < 0 || f.First > 250 {
		return MovementPage{}, fmt.Errorf("inventory.FindMovements: %w", commerce.InvalidInput("first", "first is between 0 and 250"))
	}
	var locations []commerce.ID // nil: every location
	if p.Role == commerce.RoleAssociate {
		locations = append([]commerce.ID{}, p.LocationIDs...) // never nil: none is nothing
	}
	var kind *string
	if f.Kind != nil {
		k := string(*f.Kind)
		kind = &k
	}
	rows, err := s.pool.Query(ctx, `SELECT `+movementColumns+` FROM stock_movements m
		WHERE ($1::uuid IS NULL OR m.variant_id = $1)
		  AND ($2::uuid IS NULL OR m.location_id = $2)
		  AND ($3::uuid IS NULL OR m.order_id = $3)
		  AND ($4::text IS NULL OR m.kind = $4)
		  AND ($5::uuid[] IS NULL OR m.location_id = ANY($5))
		  AND ($6::uuid IS NULL OR (m.created_at, m.id) < (SELECT a.created_at, a.id FROM stock_movements a WHERE a.id = $6))
		ORDER BY m.created_at DESC, m.id DESC LIMIT $7`,
		f.VariantID, f.LocationID, f.OrderID, kind, locations, f.After, f.First+1)
	ms, err := db.All[Movement](rows, err)
	if err != nil {
		return MovementPage{}, fmt.Errorf("inventory.FindMovements: %w", err)
	}
	page := MovementPage{Movements: ms}
	if len(ms) > f.First {
		page.Movements, page.HasNext = ms[:f.First], true
	}
	return page, nil
}
