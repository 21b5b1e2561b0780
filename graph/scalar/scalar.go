// Package scalar marshals the domain's scalar types to and from GraphQL, so
// that commerce stays free of any GraphQL dependency.
package scalar

import (
	"fmt"
	"io"
	"strconv"

	"github.com/99designs/gqlgen/graphql"

	"github.com/omnicanal/omnicanal/commerce"
)

// MarshalCurrency writes a currency as its ISO 4217 code.
func MarshalCurrency(c commerce.Currency) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		io.WriteString(w, strconv.Quote(string(c))) //nolint:errcheck // gqlgen's writers do not fail
	})
}

// UnmarshalCurrency reads an ISO 4217 code and rejects unsupported ones.
func UnmarshalCurrency(v any) (commerce.Currency, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("CurrencyCode must be a string")
	}
	return commerce.ParseCurrency(s)
}
