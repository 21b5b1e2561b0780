package order

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/internal/db"
)

// Shipping: the origin location (a warehouse, or a store that ships)
// prepares a shipping order and hands it to a carrier. Only staff who work
// there do it, as at the pickup desk: associates of the order's origin
// location and admins (a merchandiser is not warehouse staff: FORBIDDEN);
// an order of another location is NOT_FOUND, as for orders everywhere.
//
//	placed ──PrepareShipment──► preparing ──MarkShipped──► shipped
//
// MarkShipped also takes a placed order (through preparing). Shipping a
// shipped order again is a CONFLICT, whatever the tracking given: a
// carrier or number typed wrong is not corrected by shipping twice.

// shipRoles may prepare and ship orders.
var shipRoles = []commerce.Role{commerce.RoleAdmin, commerce.RoleAssociate}

// ShipmentInput is what the carrier gave for the parcel.
type ShipmentInput struct {
	Carrier        string
	TrackingNumber string
}

// Shipment is the carrier and tracking of a shipped order.
type Shipment struct {
	Carrier        string
	TrackingNumber string
	ShippedAt      time.Time
}

// Validate trims the input and checks its lengths.
func (in *ShipmentInput) Validate() error {
	in.Carrier, in.TrackingNumber = strings.TrimSpace(in.Carrier), strings.TrimSpace(in.TrackingNumber)
	switch {
	case in.Carrier == "":
		return commerce.InvalidInput("carrier", "the carrier is required")
	case utf8.RuneCountInString(in.Carrier) > 100:
		return commerce.InvalidInput("carrier", "a carrier has at most 100 characters")
	case in.TrackingNumber == "":
		return commerce.InvalidInput("trackingNumber", "the tracking number is required")
	case utf8.RuneCountInString(in.TrackingNumber) > 200:
		return commerce.InvalidInput("trackingNumber", "a tracking number has at most 200 characters")
	}
	return nil
}

// PrepareShipment moves a placed shipping order, paid, to preparing.
func (s *Service) PrepareShipment(ctx context.Context, id commerce.ID) (*Order, error) {
	return s.shipTx(ctx, id, "PrepareShipment", func(tx pgx.Tx, o *Order, a Actor) error {
		if o.Status != Placed {
			return shipConflict(o, "prepared")
		}
		return TransitionTx(ctx, tx, o, Preparing, a, "preparing the shipment")
	})
}

// MarkShipped hands a preparing (or placed) shipping order, paid, to the
// carrier in one transaction: the units leave the origin's on hand and
// reserved (inventory.FulfilTx), the carrier, tracking number and time are
// recorded, and the order becomes shipped with its order.shipped event
// carrying them (carrier, trackingNumber, shippedAt, email).
func (s *Service) MarkShipped(ctx context.Context, id commerce.ID, in ShipmentInput) (*Order, error) {
	if err := in.Validate(); err != nil {
		return nil, fmt.Errorf("order.MarkShipped: %w", err)
	}
	return s.shipTx(ctx, id, "MarkShipped", func(tx pgx.Tx, o *Order, a Actor) error {
		if o.Status == Placed {
			if err := TransitionTx(ctx, tx, o, Preparing, a, "preparing the shipment"); err != nil {
				return err
			}
		}
		if o.Status != Preparing {
			return shipConflict(o, "shipped")
		}
		if err := s.inventory.FulfilTx(ctx, tx, o.ID); err != nil {
			return err
		}
		var at time.Time
		if err := tx.QueryRow(ctx, `UPDATE orders SET carrier = $2, tracking_number = $3, shipped_at = $4 WHERE id = $1 RETURNING shipped_at`,
			o.ID, in.Carrier, in.TrackingNumber, s.now().UTC()).Scan(&at); err != nil {
			return fmt.Errorf("shipment: %w", err)
		}
		o.Shipment = &Shipment{Carrier: in.Carrier, TrackingNumber: in.TrackingNumber, ShippedAt: at}
		return TransitionWithEventTx(ctx, tx, o, Shipped, a, "shipped with "+in.Carrier,
			map[string]any{"carrier": in.Carrier, "trackingNumber": in.TrackingNumber, "shippedAt": at, "email": o.Email})
	})
}

// shipTx runs fn in one transaction on the shipping order id, locked,
// after checking that the request works at its origin location (NOT_FOUND
// otherwise) and that the order is paid.
func (s *Service) shipTx(ctx context.Context, id commerce.ID, what string, fn func(tx pgx.Tx, o *Order, a Actor) error) (*Order, error) {
	p, err := commerce.RequireRole(ctx, shipRoles...)
	if err != nil {
		return nil, fmt.Errorf("order.%s: %w", what, err)
	}
	a := Actor{Kind: ActorStaff, ID: &p.StaffID}
	if ch := channel.FromContext(ctx); ch != nil {
		a.ChannelID = &ch.ID
	}
	var out *Order
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		o, err := FindOrderByIDTx(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if !p.InLocation(o.LocationID) {
			return commerce.NotFound("order not found")
		}
		if o.Fulfillment != Shipping {
			return &commerce.Error{Code: commerce.ErrConflict, Field: "orderId",
				Message: fmt.Sprintf("order %s is collected in store, not shipped", o.Number)}
		}
		if o.Status.Open() && o.PaymentStatus != Paid && o.PaymentStatus != PartiallyRefunded {
			return &commerce.Error{Code: commerce.ErrConflict, Field: "orderId",
				Message: fmt.Sprintf("order %s is not paid (payment %s) and cannot be shipped", o.Number, o.PaymentStatus)}
		}
		if err := fn(tx, o, a); err != nil {
			return err
		}
		out = o
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("order.%s: %w", what, err)
	}
	return out, nil
}

func shipConflict(o *Order, what string) error {
	return &commerce.Error{Code: commerce.ErrConflict, Field: "orderId",
		Message: fmt.Sprintf("order %s is %s and cannot be %s", o.Number, strings.ReplaceAll(string(o.Status), "_", " "), what)}
}

// FindShipment returns the carrier and tracking of the order id, read by a
// request that already reaches it; nil until it is shipped.
func (s *Service) FindShipment(ctx context.Context, id commerce.ID) (*Shipment, error) {
	var (
		carrier, tracking *string
		at                *time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT carrier, tracking_number, shipped_at FROM orders WHERE id = $1`, id).Scan(&carrier, &tracking, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("order.FindShipment: %w", err)
	}
	return shipmentOf(carrier, tracking, at), nil
}

// shipmentOf builds a shipment from its nullable columns: nil before the
// order ships.
func shipmentOf(carrier, tracking *string, at *time.Time) *Shipment {
	if at == nil {
		return nil
	}
	sh := &Shipment{ShippedAt: *at}
	if carrier != nil {
		sh.Carrier = *carrier
	}
	if tracking != nil {
		sh.TrackingNumber = *tracking
	}
	return sh
}
