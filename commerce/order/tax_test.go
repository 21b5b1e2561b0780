package order

import (
	"math"
	"testing"
)

func TestInclusiveTax(t *testing.T) {
	for _, tc := range []struct {
		amount int64
		ppm    int
		want   int64
	}{
		{12000, 200000, 2000}, // 120.00 incl. 20% → 20.00
		{100, 200000, 17},     // 16.67 → 17
		{1, 200000, 0},        // 0.1667 → 0
		{3, 200000, 1},        // 0.5 → 1 (half up)
		{11497, 149750, 1497}, // 114.97 CAD incl. 14.975% → 14.97
		{0, 200000, 0},
		{500, 0, 0},
		{math.MaxInt64, 200000, 1537228672809129301}, // no overflow
	} {
		if got := InclusiveTax(tc.amount, tc.ppm); got != tc.want {
			t.Errorf("InclusiveTax(%d, %d) = %d, want %d", tc.amount, tc.ppm, got, tc.want)
		}
	}
}

func FuzzInclusiveTax(f *testing.F) {
	f.Add(int64(12345), 200000)
	f.Fuzz(func(t *testing.T, amount int64, ppm int) {
		if amount < 0 || ppm < 0 || ppm > ppmScale {
			return
		}
		tax := InclusiveTax(amount, ppm)
		if tax < 0 || tax > amount {
			t.Fatalf("InclusiveTax(%d, %d) = %d out of [0, amount]", amount, ppm, tax)
		}
		// The net amount times the rate is the tax, within half a unit.
		if amount < 1<<40 {
			exact := float64(amount) * float64(ppm) / float64(ppmScale+ppm)
			if math.Abs(float64(tax)-exact) > 0.5000001 {
				t.Fatalf("InclusiveTax(%d, %d) = %d, exact %f", amount, ppm, tax, exact)
			}
		}
	})
}
