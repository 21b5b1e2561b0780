package pricing

import "math/bits"

// The helpers below multiply through a 128-bit intermediate so that
// amount × quantity × basis points never overflows, without big.Int and
// without allocating. Arguments are never negative.

// mulDiv returns ⌊a·b/c⌋ and the remainder. The quotient must fit in 64
// bits, which callers ensure by having a ≤ c or b ≤ c.
func mulDiv(a, b, c int64) (q, r int64) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	uq, ur := bits.Div64(hi, lo, uint64(c))
	return int64(uq), int64(ur)
}

// mulDivRound returns a·b/c rounded half up, under mulDiv's condition.
// Half up is in the shopper's favour: a discount of 0.5 cent is 1 cent.
func mulDivRound(a, b, c int64) int64 {
	q, r := mulDiv(a, b, c)
	if r >= c-r {
		q++
	}
	return q
}

// percentOf returns bp basis points of amount, rounded half up.
func percentOf(amount int64, bp int) int64 {
	return mulDivRound(amount, int64(bp), basisPoints)
}

// mulCap returns min(a·b, MaxAmount). Every amount it is compared with is
// at most MaxAmount, so the cap never changes a result.
func mulCap(a, b int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > uint64(MaxAmount) {
		return MaxAmount
	}
	return int64(lo)
}

// Sorting lines by an amount, ties broken by line index, is done on packed
// int64 keys — the amount in the high bits, the index in the low lineBits —
// with slices.Sort: several times faster than a comparison closure, and
// this runs for every order offer on every cart read. Amounts are below
// 2^amountBits (MaxAmount < 2^50) and indices below MaxLines < 2^lineBits,
// so a key stays positive.
const (
	lineBits   = 13
	amountBits = 50
	lineMask   = 1<<lineBits - 1
	amountMax  = 1<<amountBits - 1
)

// Compile-time checks that the bounds fit the key layout.
const (
	_ = uint(lineMask - (MaxLines - 1))
	_ = uint(amountMax - MaxAmount)
	_ = uint(63 - lineBits - amountBits)
)

// sortKey packs amount and line index so that keys sort by amount, then by
// index.
func sortKey(amount int64, line int) int64 { return amount<<lineBits | int64(line) }

// keyLine is the line index of a key.
func keyLine(key int64) int { return int(key & lineMask) }
