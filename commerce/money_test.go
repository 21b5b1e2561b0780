package commerce_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/omnicanal/omnicanal/commerce"
)

func TestMoneyDecimal(t *testing.T) {
	cases := []struct {
		m    commerce.Money
		want string
	}{
		{commerce.Money{Amount: 1999, Currency: "EUR"}, "19.99"},
		{commerce.Money{Amount: 5, Currency: "EUR"}, "0.05"},
		{commerce.Money{Amount: 0, Currency: "CAD"}, "0.00"},
		{commerce.Money{Amount: -5, Currency: "EUR"}, "-0.05"},
		{commerce.Money{Amount: -12345, Currency: "CAD"}, "-123.45"},
		{commerce.Money{Amount: 1200, Currency: "JPY"}, "1200"},
		{commerce.Money{Amount: math.MinInt64, Currency: "EUR"}, "-92233720368547758.08"},
		{commerce.Money{Amount: math.MaxInt64, Currency: "EUR"}, "92233720368547758.07"},
	}
	for _, c := range cases {
		if got := c.m.Decimal(); got != c.want {
			t.Errorf("%d %s: got %q, want %q", c.m.Amount, c.m.Currency, got, c.want)
		}
	}
}

func TestParseMoney(t *testing.T) {
	ok := map[string]int64{"19.99": 1999, "19.9": 1990, "19": 1900, "0.05": 5, "-0.05": -5, " 7.00 ": 700}
	for s, want := range ok {
		m, err := commerce.ParseMoney(s, "EUR")
		if err != nil || m.Amount != want || m.Currency != "EUR" {
			t.Errorf("ParseMoney(%q) = %v, %v; want %d", s, m, err, want)
		}
	}
	for _, s := range []string{"", "1.999", "1.", ".5", "abc", "1,50", "--1", "+1", "1.-5", "99999999999999999999"} {
		if _, err := commerce.ParseMoney(s, "EUR"); commerce.ErrorCode(err) != commerce.ErrInvalidInput {
			t.Errorf("ParseMoney(%q): want INVALID_INPUT, got %v", s, err)
		}
	}
	if _, err := commerce.ParseMoney("12.5", "JPY"); err == nil {
		t.Error("JPY has no minor unit: 12.5 must be rejected")
	}
}

func TestParseCurrency(t *testing.T) {
	if c, err := commerce.ParseCurrency(" eur "); err != nil || c != "EUR" {
		t.Errorf("ParseCurrency(eur) = %q, %v", c, err)
	}
	if _, err := commerce.ParseCurrency("XXX"); commerce.ErrorCode(err) != commerce.ErrInvalidInput {
		t.Errorf("unknown currency: %v", err)
	}
}

// Decimal and ParseMoney are inverses for every amount.
func FuzzMoneyRoundTrip(f *testing.F) {
	for _, a := range []int64{0, 1, -1, 99, 100, 1999, -1999, math.MaxInt64, math.MinInt64 + 1} {
		f.Add(a, false)
		f.Add(a, true)
	}
	f.Fuzz(func(t *testing.T, amount int64, yen bool) {
		cur := commerce.Currency("EUR")
		if yen {
			cur = "JPY"
		}
		m := commerce.Money{Amount: amount, Currency: cur}
		back, err := commerce.ParseMoney(m.Decimal(), cur)
		if amount == math.MinInt64 {
			return // its magnitude does not fit int64 before the sign is applied
		}
		if err != nil || back != m {
			t.Fatalf("%d %s → %q → %v, %v", amount, cur, m.Decimal(), back, err)
		}
	})
}

func TestErrorCode(t *testing.T) {
	err := commerce.InvalidInput("first", "too many")
	if commerce.ErrorCode(err) != commerce.ErrInvalidInput || commerce.ErrorCode(nil) != "" {
		t.Error("ErrorCode")
	}
	wrapped := fmt.Errorf("cart.AddLines: %w", err)
	if commerce.ErrorCode(wrapped) != commerce.ErrInvalidInput {
		t.Error("ErrorCode must see through wrapping")
	}
	if commerce.ErrorCode(errors.New("boom")) != commerce.ErrInternal {
		t.Error("a plain error is INTERNAL")
	}
}
