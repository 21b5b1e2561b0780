package commerce

import (
	"fmt"
	"strconv"
	"strings"
)

// Currency is an ISO 4217 alphabetic code such as "EUR".
type Currency string

// currencyExponents gives the minor-unit exponent of the currencies Omnicanal
// prices in. A currency missing here is rejected rather than guessed.
var currencyExponents = map[Currency]int{
	"EUR": 2, "CAD": 2, "USD": 2, "GBP": 2, "CHF": 2,
	"SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "AUD": 2,
	"JPY": 0, "KRW": 0,
}

// ParseCurrency validates an ISO 4217 code.
func ParseCurrency(s string) (Currency, error) {
	c := Currency(strings.ToUpper(strings.TrimSpace(s)))
	if _, ok := currencyExponents[c]; !ok {
		return "", InvalidInput("currencyCode", "unsupported currency %q", s)
	}
	return c, nil
}

// Exponent is the number of decimal digits of the currency's minor unit.
func (c Currency) Exponent() int { return currencyExponents[c] }

// Money is an amount in minor units (cents) of a currency. Never a float.
type Money struct {
	Amount   int64
	Currency Currency
}

// Decimal formats the amount as a plain decimal string in major units,
// e.g. 1999 EUR → "19.99", -5 EUR → "-0.05", 1200 JPY → "1200".
func (m Money) Decimal() string {
	exp := m.Currency.Exponent()
	neg := m.Amount < 0
	// Work on the magnitude as uint64 so math.MinInt64 cannot overflow.
	mag := uint64(m.Amount)
	if neg {
		mag = -mag
	}
	digits := strconv.FormatUint(mag, 10)
	if exp > 0 {
		if len(digits) <= exp {
			digits = strings.Repeat("0", exp-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

func (m Money) String() string { return m.Decimal() + " " + string(m.Currency) }

// ParseMoney reads a decimal string in major units ("19.99") into minor units.
// It rejects more decimals than the currency has rather than rounding.
func ParseMoney(s string, c Currency) (Money, error) {
	exp := c.Exponent()
	whole, frac, hasFrac := strings.Cut(strings.TrimSpace(s), ".")
	neg := strings.HasPrefix(whole, "-")
	whole = strings.TrimPrefix(whole, "-")
	if whole == "" || (hasFrac && frac == "") || len(frac) > exp || strings.ContainsAny(whole+frac, "+-") {
		return Money{}, InvalidInput("amount", "%q is not an amount in %s", s, c)
	}
	frac += strings.Repeat("0", exp-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return Money{}, InvalidInput("amount", "%q is not an amount in %s", s, c)
	}
	if neg {
		n = -n
	}
	return Money{Amount: n, Currency: c}, nil
}

// MustMoney is ParseMoney for constants in code and tests.
func MustMoney(s string, c Currency) Money {
	m, err := ParseMoney(s, c)
	if err != nil {
		panic(fmt.Sprintf("commerce.MustMoney(%q, %q): %v", s, c, err))
	}
	return m
}
