package graph

import (
	"slices"
	"strings"

	"github.com/omnicanal/omnicanal/commerce/catalog"
	"github.com/omnicanal/omnicanal/graph/model"
)

// Conversions for the staff catalog mutations (catalog_admin.resolvers.go):
// GraphQL inputs to catalog inputs, and input errors to userErrors.

// userErrorsAs is userErrors with another payload's error type of the
// same fields (OfferUserError, InventoryUserError, …).
func userErrorsAs[T ~struct {
	Field   []string `json:"field,omitempty"`
	Message string   `json:"message"`
	Code    string   `json:"code"`
}](err error, input string, args ...string) ([]T, error) {
	errs, err := userErrors(err, input, args...)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(errs))
	for i, e := range errs {
		out[i] = T(e)
	}
	return out, nil
}

// userErrors splits a write's error: the input errors a client should fix
// become userErrors (and the call succeeds, Shopify style); anything else
// (UNAUTHENTICATED, FORBIDDEN, internal) stays a top-level error. The
// service names fields relative to the input object; input prefixes them
// with that argument's name, except the fields that are arguments
// themselves (args).
func userErrors(err error, input string, args ...string) ([]model.ProductUserError, error) {
	if err == nil {
		return []model.ProductUserError{}, nil
	}
	errs := catalog.InputErrors(err)
	if errs == nil {
		return nil, err
	}
	out := make([]model.ProductUserError, len(errs))
	for i, e := range errs {
		out[i] = model.ProductUserError{Field: fieldPath(e.Field, input, args), Message: e.Message, Code: e.Code}
	}
	return out, nil
}

// fieldPath turns "variants[0].prices[1].amount" into
// ["input", "variants", "0", "prices", "1", "amount"].
func fieldPath(field, input string, args []string) []string {
	if field == "" {
		return nil
	}
	path := strings.Split(strings.NewReplacer("[", ".", "]", "").Replace(field), ".")
	if input != "" && !slices.Contains(args, path[0]) {
		path = append([]string{input}, path...)
	}
	return path
}

func attributes(in []model.AttributeInput) map[string]string {
	if in == nil {
		return nil
	}
	out := make(map[string]string, len(in))
	for _, a := range in {
		out[a.Name] = a.Value // a name given twice keeps its last value
	}
	return out
}

func variantInputs(in []model.ProductVariantInput) []catalog.VariantInput {
	if in == nil {
		return nil
	}
	out := make([]catalog.VariantInput, len(in))
	for i, v := range in {
		out[i] = catalog.VariantInput{ID: v.ID, SKU: v.Sku, Barcode: v.Barcode, Title: v.Title,
			Options: v.Options, WeightGrams: v.WeightGrams, Prices: v.Prices}
	}
	return out
}

func createInput(in model.ProductCreateInput) catalog.ProductInput {
	return catalog.ProductInput{
		Handle: &in.Handle, Title: &in.Title, Description: in.Description, Brand: in.Brand, ProductType: in.ProductType,
		Status: in.Status, Attributes: attributes(in.Attributes), Options: in.Options, Variants: variantInputs(in.Variants),
		CategoryIDs: in.CategoryIds, CollectionIDs: in.CollectionIds, Media: in.Media, ChannelIDs: in.ChannelIds,
	}
}

func updateInput(in model.ProductUpdateInput) catalog.ProductInput {
	return catalog.ProductInput{
		Handle: in.Handle, Title: in.Title, Description: in.Description, Brand: in.Brand, ProductType: in.ProductType,
		Status: in.Status, Attributes: attributes(in.Attributes), Options: in.Options,
		CategoryIDs: in.CategoryIds, CollectionIDs: in.CollectionIds, Media: in.Media,
	}
}

func priceInputs(in []model.VariantPriceInput) []catalog.VariantPriceInput {
	out := make([]catalog.VariantPriceInput, len(in))
	for i, p := range in {
		out[i] = catalog.VariantPriceInput{VariantID: p.VariantID,
			PriceInput: catalog.PriceInput{CurrencyCode: p.CurrencyCode, Amount: p.Amount, CompareAt: p.CompareAtAmount}}
	}
	return out
}
