package graph

import (
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/offer"
	"github.com/omnicanal/omnicanal/commerce/pricing"
	"github.com/omnicanal/omnicanal/graph/model"
)

// Conversions for the staff offer operations (offer_admin.resolvers.go):
// GraphQL inputs to offer.Input, offers to their GraphQL shape, and input
// errors to userErrors.

func offerCreateInput(in model.OfferCreateInput) offer.Input {
	return offer.Input{
		Title: &in.Title, Kind: &in.Kind, Target: in.Target, Priority: in.Priority, Stackable: in.Stackable,
		PercentOff: in.PercentOff, Amount: in.Amount, BuyQuantity: in.BuyQuantity, GetQuantity: in.GetQuantity,
		Tiers: in.Tiers, AppliesTo: in.AppliesTo, Conditions: offerConditionsInput(in.Conditions),
		UsageLimit: in.UsageLimit, UsageLimitPerCustomer: in.UsageLimitPerCustomer,
	}
}

func offerUpdateInput(in model.OfferUpdateInput) offer.Input {
	return offer.Input{
		Title: in.Title, Kind: in.Kind, Target: in.Target, Priority: in.Priority, Stackable: in.Stackable,
		PercentOff: omitted(in.PercentOff, ""), Amount: omitted(in.Amount, offer.MoneyInput{}),
		BuyQuantity: in.BuyQuantity, GetQuantity: in.GetQuantity, Tiers: omittedList(in.Tiers),
		AppliesTo: in.AppliesTo, Conditions: offerConditionsInput(in.Conditions),
		UsageLimit: omitted(in.UsageLimit, 0), UsageLimitPerCustomer: omitted(in.UsageLimitPerCustomer, 0),
	}
}

func offerConditionsInput(in *model.OfferConditionsInput) *offer.ConditionsInput {
	if in == nil {
		return nil
	}
	return &offer.ConditionsInput{
		MinSubtotal: omitted(in.MinSubtotal, offer.MoneyInput{}),
		StartsAt:    omitted(in.StartsAt, time.Time{}),
		EndsAt:      omitted(in.EndsAt, time.Time{}),
		Code:        omitted(in.Code, ""),
		// The service takes a nil pointer to mean "keep".
		RequireSignedIn: in.RequireSignedIn,
		Segments:        omittedList(in.Segments),
		LoyaltyTiers:    omittedList(in.LoyaltyTiers),
		Channels:        omittedList(in.Channels),
	}
}

// omitted maps GraphQL's three states of an optional input field to the
// service's two pointers: left out is nil (keep the value), null is the
// zero value that clears it, a value is itself.
func omitted[T any](o graphql.Omittable[*T], zero T) *T {
	v, set := o.ValueOK()
	switch {
	case !set:
		return nil
	case v == nil:
		return &zero
	}
	return v
}

// omittedList is omitted for lists: left out is nil (keep), null or [] a
// non-nil empty list (clear).
func omittedList[T any](o graphql.Omittable[[]T]) []T {
	v, set := o.ValueOK()
	if !set {
		return nil
	}
	if v == nil {
		return []T{}
	}
	return v
}

// offerModel is an offer as the schema shows it.
func offerModel(o *offer.Offer) *model.Offer {
	c := &o.Conditions
	out := &model.Offer{
		ID: o.ID, Version: o.Version, Title: o.Title, Kind: o.Kind, Target: o.Target, Priority: o.Priority,
		Stackable: o.Stackable, Tiers: o.Tiers, AppliesTo: &o.AppliesTo, VariesByChannel: o.VariesByChannel(),
		UsageCount: o.UsageCount, DisabledAt: o.DisabledAt, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		Conditions: &model.OfferConditions{
			MinSubtotal: nonZero(c.MinSubtotal), StartsAt: nonZero(c.StartsAt), EndsAt: nonZero(c.EndsAt),
			Code: nonZero(c.Code), RequireSignedIn: c.RequireSignedIn,
			Segments: orEmpty(c.Segments), LoyaltyTiers: orEmpty(c.LoyaltyTiers), Channels: orEmpty(c.Channels),
		},
		Amount: nonZero(o.Amount), BuyQuantity: nonZero(o.BuyQuantity), GetQuantity: nonZero(o.GetQuantity),
		UsageLimit: nonZero(o.UsageLimit), UsageLimitPerCustomer: nonZero(o.UsageLimitPerCustomer),
	}
	if o.PercentOff != 0 {
		p := offer.FormatPercent(o.PercentOff)
		out.PercentOff = &p
	}
	// A fixed price of zero (free) is an amount, not its absence.
	if o.Kind == pricing.FixedPrice {
		out.Amount = &o.Amount
	}
	if out.Tiers == nil {
		out.Tiers = []pricing.Tier{}
	}
	return out
}

// offerModelOrNil is offerModel, and nil for a write that wrote nothing.
func offerModelOrNil(o *offer.Offer) *model.Offer {
	if o == nil {
		return nil
	}
	return offerModel(o)
}

// nonZero is nil for the zero value: the schema's null for "none".
func nonZero[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

func orEmpty[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// offerCursor and parseOfferCursor make the opaque cursors of the offers
// connection: the offer's id (the listing is by id).
func offerCursor(id commerce.ID) string { return encodeCursor("offer", id.String()) }

func parseOfferCursor(after *string) (*commerce.ID, error) {
	key, err := decodeCursor(after, "offer")
	if err != nil || key == "" {
		return nil, err
	}
	id, err := uuid.Parse(key)
	if err != nil {
		return nil, commerce.InvalidInput("after", "after is not a cursor of this list")
	}
	return &id, nil
}
