package cart

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/location"
)

// maxStores bounds the stores an OUT_OF_STOCK error lists.
const maxStores = 5

// fillStores completes the StockErrors in refusal, in place, with the
// pickup store and the nearest stores that have the quantity. It runs after
// the change's transaction, so that the cart's row lock is not held for it
// and the lookups do not need a second connection while holding one. It
// returns the failure of a lookup.
func (s *Service) fillStores(ctx context.Context, refusal error) error {
	var stockErrs []*StockError
	for _, e := range UserErrors(refusal) {
		if se, ok := e.(*StockError); ok {
			stockErrs = append(stockErrs, se)
		}
	}
	if len(stockErrs) == 0 {
		return nil
	}
	variantIDs := make([]commerce.ID, 0, len(stockErrs))
	for _, se := range stockErrs {
		if !slices.Contains(variantIDs, se.VariantID) {
			variantIDs = append(variantIDs, se.VariantID)
		}
	}
	levels, lerr := s.inventory.FindLevelsByVariantIDs(ctx, variantIDs)
	if lerr != nil {
		return fmt.Errorf("stores with stock: %w", lerr)
	}
	// Every location, warehouses included: a pickup store or a channel's
	// store is looked up by id below. There are tens of them.
	locs, lerr := s.locations.FindLocations(ctx, location.Filter{})
	if lerr != nil {
		return fmt.Errorf("stores with stock: %w", lerr)
	}
	// Only stores of the channel's currency (the cart's): a cart is
	// collected, and its order paid, only where that currency is used.
	var cur commerce.Currency
	if ch := channel.FromContext(ctx); ch != nil {
		cur = ch.Currency
	}
	byID := make(map[commerce.ID]*location.Location, len(locs))
	for i := range locs {
		byID[locs[i].ID] = &locs[i]
	}
	for _, se := range stockErrs {
		if se.pickup != nil {
			if l, ok := byID[*se.pickup]; ok {
				store := *l
				se.Store = &store
			}
		}
		var from *location.Point
		if se.origin != nil {
			if l, ok := byID[*se.origin]; ok {
				from = &l.Point
			}
		}
		se.Stores = se.Stores[:0]
		for _, lv := range levels {
			l, ok := byID[lv.LocationID]
			if lv.VariantID != se.VariantID || !ok || l.Kind != location.Store || lv.Available() < se.Requested ||
				(se.pickup != nil && l.ID == *se.pickup) || (cur != "" && l.Currency != cur) {
				continue
			}
			store := *l // a copy: the distance is this error's
			if from != nil {
				d := location.DistanceKm(*from, store.Point)
				store.DistanceKm = &d
			}
			se.Stores = append(se.Stores, StoreStock{Store: store, Available: lv.Available()})
		}
		slices.SortStableFunc(se.Stores, func(a, b StoreStock) int {
			if a.Store.DistanceKm != nil && b.Store.DistanceKm != nil {
				if c := cmp.Compare(*a.Store.DistanceKm, *b.Store.DistanceKm); c != 0 {
					return c
				}
			}
			return cmp.Or(cmp.Compare(a.Store.Name, b.Store.Name), cmp.Compare(a.Store.Code, b.Store.Code))
		})
		se.Stores = se.Stores[:min(len(se.Stores), maxStores)]
	}
	return nil
}
