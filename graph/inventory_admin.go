package graph

import (
	"strings"

	"github.com/google/uuid"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/inventory"
	"github.com/omnicanal/omnicanal/graph/model"
)

// Conversions for the staff stock operations (inventory_admin.resolvers.go).

func inventoryAdjustment(in model.InventoryAdjustInput, idempotencyKey *string) inventory.Adjustment {
	a := inventory.Adjustment{VariantID: in.VariantID, LocationID: in.LocationID, Delta: in.Delta, SetOnHand: in.SetOnHand}
	if in.Kind != nil {
		a.Kind = inventory.Kind(strings.ToLower(string(*in.Kind)))
	}
	if in.Reason != nil {
		a.Reason = *in.Reason
	}
	if idempotencyKey != nil {
		a.IdempotencyKey = *idempotencyKey
	}
	return a
}

// stockMovementModel is a ledger row as the schema shows it.
func stockMovementModel(m *inventory.Movement) *model.StockMovement {
	if m == nil {
		return nil
	}
	return &model.StockMovement{
		ID: m.ID, VariantID: m.VariantID, LocationID: m.LocationID,
		Kind:        model.StockMovementKind(strings.ToUpper(string(m.Kind))),
		OnHandDelta: m.OnHandDelta, ReservedDelta: m.ReservedDelta,
		Level: &model.InventoryLevel{VariantID: m.VariantID, LocationID: m.LocationID,
			OnHand: m.OnHandAfter, Reserved: m.ReservedAfter, Available: m.AvailableAfter()},
		Reason: m.Reason, StaffID: m.StaffID, OrderID: m.OrderID, FeedKey: m.FeedKey, CreatedAt: m.CreatedAt,
	}
}

// stockMovementCursor and parseStockMovementCursor make the opaque cursors
// of the ledger connection: the movement's id.
func stockMovementCursor(id commerce.ID) string { return encodeCursor("stockMovement", id.String()) }

func parseStockMovementCursor(after *string) (*commerce.ID, error) {
	key, err := decodeCursor(after, "stockMovement")
	if err != nil || key == "" {
		return nil, err
	}
	id, err := uuid.Parse(key)
	if err != nil {
		return nil, commerce.InvalidInput("after", "after is not a cursor of this list")
	}
	return &id, nil
}
