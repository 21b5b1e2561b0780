// Package qr encodes short text as a QR Code (ISO/IEC 18004), for the
// handoff codes of shared carts: a URL of a few dozen bytes shown on one
// screen and scanned by another device.
//
// It is deliberately small: byte mode only, error correction level M (15 %
// of the symbol can be lost, enough for a phone screen read by a camera),
// versions 1 to 9 (up to 180 bytes), the mask chosen by the standard's
// penalty rules. That covers every URL the server makes; a longer text is
// an error, not a silent truncation. The structure follows the standard
// section by section; the tests compare whole symbols with those of
// libqrencode, an independent implementation, bit for bit.
//
// We write our own rather than take a module: the encoder is a few hundred
// lines of well-specified arithmetic, and the project keeps its
// dependencies to what it cannot reasonably write.
package qr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxBytes is the longest text Encode takes: version 9 at level M.
const MaxBytes = 180

// Code is an encoded symbol: a Size × Size grid of modules.
type Code struct {
	Version int
	Size    int
	Mask    int
	modules []bool // row-major; true is dark
	isFunc  []bool // finder, timing, alignment, format and version modules
}

// Dark tells whether the module at column x, row y is dark.
func (c *Code) Dark(x, y int) bool { return c.modules[y*c.Size+x] }

// block describes the error correction of one version at level M
// (ISO/IEC 18004:2015, table 9): each block has ecLen error correction
// codewords; the first count1 blocks have data1 data codewords, the next
// count2 blocks one more.
type block struct{ ecLen, count1, data1, count2 int }

var levelM = [10]block{
	1: {10, 1, 16, 0},
	2: {16, 1, 28, 0},
	3: {26, 1, 44, 0},
	4: {18, 2, 32, 0},
	5: {24, 2, 43, 0},
	6: {16, 4, 27, 0},
	7: {18, 4, 31, 0},
	8: {22, 2, 38, 2},
	9: {22, 3, 36, 2},
}

// dataCodewords is the number of data codewords of a version at level M.
func dataCodewords(ver int) int {
	b := levelM[ver]
	return b.count1*b.data1 + b.count2*(b.data1+1)
}

// ErrTooLong is returned for a text beyond MaxBytes.
var ErrTooLong = errors.New("qr: text too long (at most " + strconv.Itoa(MaxBytes) + " bytes)")

// Encode encodes text in byte mode at level M, in the smallest version
// that holds it, with the mask of lowest penalty.
func Encode(text string) (*Code, error) {
	return encode(text, -1)
}

// encode is Encode with the mask forced (0–7), or chosen when mask is -1.
func encode(text string, mask int) (*Code, error) {
	ver := 0
	for v := 1; v <= 9; v++ {
		// Mode (4 bits) and character count (8 bits in versions 1–9).
		if 4+8+8*len(text) <= 8*dataCodewords(v) {
			ver = v
			break
		}
	}
	if ver == 0 {
		return nil, ErrTooLong
	}
	c := &Code{Version: ver, Size: 4*ver + 17}
	c.modules = make([]bool, c.Size*c.Size)
	c.isFunc = make([]bool, c.Size*c.Size)
	c.drawFunctionPatterns()
	c.drawCodewords(interleave(ver, dataBytes(ver, text)))
	if mask < 0 {
		best := -1
		for m := range 8 {
			c.applyMask(m)
			c.drawFormatBits(m)
			if p := c.penalty(); best < 0 || p < best {
				best, mask = p, m
			}
			c.applyMask(m) // masks are their own inverse
		}
	}
	c.Mask = mask
	c.applyMask(mask)
	c.drawFormatBits(mask)
	return c, nil
}

// dataBytes is the data codewords: mode, count, the bytes, the terminator
// and the padding of section 7.4.
func dataBytes(ver int, text string) []byte {
	capacity := dataCodewords(ver)
	var bits bitBuffer
	bits.append(0b0100, 4) // byte mode
	bits.append(len(text), 8)
	for i := range len(text) {
		bits.append(int(text[i]), 8)
	}
	bits.append(0, min(4, capacity*8-len(bits)))
	bits.append(0, (8-len(bits)%8)%8)
	out := make([]byte, 0, capacity)
	for i := 0; i < len(bits); i += 8 {
		var b byte
		for _, bit := range bits[i : i+8] {
			b = b<<1 | bit
		}
		out = append(out, b)
	}
	for pad := byte(0xEC); len(out) < capacity; pad ^= 0xEC ^ 0x11 {
		out = append(out, pad)
	}
	return out
}

type bitBuffer []byte

func (b *bitBuffer) append(v, n int) {
	for i := n - 1; i >= 0; i-- {
		*b = append(*b, byte(v>>i&1))
	}
}

// interleave splits the data into blocks, adds each block's Reed–Solomon
// codewords, and interleaves them (section 7.6).
func interleave(ver int, data []byte) []byte {
	spec := levelM[ver]
	divisor := rsDivisor(spec.ecLen)
	var blocks, ecc [][]byte
	for i, k := 0, 0; i < spec.count1+spec.count2; i++ {
		n := spec.data1
		if i >= spec.count1 {
			n++
		}
		blocks = append(blocks, data[k:k+n])
		ecc = append(ecc, rsRemainder(data[k:k+n], divisor))
		k += n
	}
	out := make([]byte, 0, len(data)+len(blocks)*spec.ecLen)
	for i := range spec.data1 + 1 {
		for _, b := range blocks {
			if i < len(b) {
				out = append(out, b[i])
			}
		}
	}
	for i := range spec.ecLen {
		for _, e := range ecc {
			out = append(out, e[i])
		}
	}
	return out
}

// gfMul multiplies in GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1 (0x11D).
func gfMul(x, y byte) byte {
	var z int
	for i := 7; i >= 0; i-- {
		z = z<<1 ^ (z>>7)*0x11D
		z ^= int(y>>i&1) * int(x)
	}
	return byte(z)
}

// rsDivisor is the generator polynomial of degree n, (x − α^0)…(x − α^(n−1)),
// without its leading 1, highest power first.
func rsDivisor(n int) []byte {
	result := make([]byte, n)
	result[n-1] = 1
	root := byte(1)
	for range n {
		for j := range result {
			result[j] = gfMul(result[j], root)
			if j+1 < len(result) {
				result[j] ^= result[j+1]
			}
		}
		root = gfMul(root, 2)
	}
	return result
}

// rsRemainder is data's error correction codewords: the remainder of
// data·x^n divided by the generator.
func rsRemainder(data, divisor []byte) []byte {
	result := make([]byte, len(divisor))
	for _, b := range data {
		factor := b ^ result[0]
		copy(result, result[1:])
		result[len(result)-1] = 0
		for i, d := range divisor {
			result[i] ^= gfMul(d, factor)
		}
	}
	return result
}

func (c *Code) set(x, y int, dark bool) {
	c.modules[y*c.Size+x] = dark
	c.isFunc[y*c.Size+x] = true
}

// drawFunctionPatterns draws everything but the data: finder patterns with
// their separators, timing patterns, alignment patterns, version
// information, and reserves the format information (drawn with the mask).
func (c *Code) drawFunctionPatterns() {
	n := c.Size
	for i := range n {
		c.set(6, i, i%2 == 0)
		c.set(i, 6, i%2 == 0)
	}
	for _, f := range [][2]int{{3, 3}, {n - 4, 3}, {3, n - 4}} {
		for dy := -4; dy <= 4; dy++ {
			for dx := -4; dx <= 4; dx++ {
				x, y := f[0]+dx, f[1]+dy
				if x < 0 || x >= n || y < 0 || y >= n {
					continue
				}
				d := max(abs(dx), abs(dy))
				c.set(x, y, d != 2 && d != 4)
			}
		}
	}
	pos := alignmentPositions(c.Version)
	for i, x := range pos {
		for j, y := range pos {
			// Not over the three finder patterns.
			if (i == 0 && j == 0) || (i == 0 && j == len(pos)-1) || (i == len(pos)-1 && j == 0) {
				continue
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					c.set(x+dx, y+dy, max(abs(dx), abs(dy)) != 1)
				}
			}
		}
	}
	c.drawFormatBits(0) // reserves the modules; redrawn with the mask
	if c.Version >= 7 {
		rem := c.Version
		for range 12 {
			rem = rem<<1 ^ (rem>>11)*0x1F25
		}
		bits := c.Version<<12 | rem
		for i := range 18 {
			dark := bits>>i&1 == 1
			a, b := n-11+i%3, i/3
			c.set(a, b, dark)
			c.set(b, a, dark)
		}
	}
}

// alignmentPositions is the row and column coordinates of the alignment
// patterns' centres (annex E), evenly spaced from 6 to size − 7.
func alignmentPositions(ver int) []int {
	if ver == 1 {
		return nil
	}
	count := ver/7 + 2
	step := (ver*8 + count*3 + 5) / (count*4 - 4) * 2
	out := make([]int, count)
	out[0] = 6
	for i, pos := count-1, 4*ver+17-7; i >= 1; i, pos = i-1, pos-step {
		out[i] = pos
	}
	return out
}

// drawFormatBits draws the format information (level M and the mask, BCH
// coded and masked, section 7.9) in both copies, and the dark module.
func (c *Code) drawFormatBits(mask int) {
	const levelBits = 0b00 // M
	data := levelBits<<3 | mask
	rem := data
	for range 10 {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	bits := (data<<10 | rem) ^ 0x5412
	bit := func(i int) bool { return bits>>i&1 == 1 }
	n := c.Size
	for i := 0; i <= 5; i++ {
		c.set(8, i, bit(i))
	}
	c.set(8, 7, bit(6))
	c.set(8, 8, bit(7))
	c.set(7, 8, bit(8))
	for i := 9; i < 15; i++ {
		c.set(14-i, 8, bit(i))
	}
	for i := range 8 {
		c.set(n-1-i, 8, bit(i))
	}
	for i := 8; i < 15; i++ {
		c.set(8, n-15+i, bit(i))
	}
	c.set(8, n-8, true)
}

// drawCodewords places the codewords in the zigzag order of section 7.7.3:
// two columns at a time from the right, upwards then downwards, skipping
// the vertical timing pattern and every function module. Remainder bits
// stay light.
func (c *Code) drawCodewords(data []byte) {
	n := c.Size
	i := 0
	for right := n - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		for vert := range n {
			for j := range 2 {
				x := right - j
				y := vert
				if (right+1)&2 == 0 {
					y = n - 1 - vert
				}
				if !c.isFunc[y*n+x] && i < len(data)*8 {
					c.modules[y*n+x] = data[i>>3]>>(7-i&7)&1 == 1
					i++
				}
			}
		}
	}
}

// applyMask flips the data modules that mask selects (table 10).
func (c *Code) applyMask(mask int) {
	n := c.Size
	for y := range n {
		for x := range n {
			var flip bool
			switch mask {
			case 0:
				flip = (x+y)%2 == 0
			case 1:
				flip = y%2 == 0
			case 2:
				flip = x%3 == 0
			case 3:
				flip = (x+y)%3 == 0
			case 4:
				flip = (x/3+y/2)%2 == 0
			case 5:
				flip = x*y%2+x*y%3 == 0
			case 6:
				flip = (x*y%2+x*y%3)%2 == 0
			case 7:
				flip = ((x+y)%2+x*y%3)%2 == 0
			}
			if flip && !c.isFunc[y*n+x] {
				c.modules[y*n+x] = !c.modules[y*n+x]
			}
		}
	}
}

// Penalty weights of section 7.8.3.
const (
	penaltyN1 = 3
	penaltyN2 = 3
	penaltyN3 = 40
	penaltyN4 = 10
)

// penalty scores the symbol by the four rules of section 7.8.3: runs of
// five or more same-coloured modules in a row or column, 2×2 blocks of one
// colour, finder-like 1:1:3:1:1 patterns with four light modules on a side,
// and the imbalance of dark and light.
func (c *Code) penalty() int {
	n := c.Size
	score, dark := 0, 0
	for _, horizontal := range []bool{true, false} {
		for a := range n {
			line := make([]bool, n)
			for b := range n {
				if horizontal {
					line[b] = c.Dark(b, a)
				} else {
					line[b] = c.Dark(a, b)
				}
			}
			run := 1
			for b := 1; b <= n; b++ {
				if b < n && line[b] == line[b-1] {
					run++
					continue
				}
				if run >= 5 {
					score += penaltyN1 + run - 5
				}
				run = 1
			}
			score += finderLike(line) * penaltyN3
		}
	}
	for y := range n {
		for x := range n {
			if c.Dark(x, y) {
				dark++
			}
			if x+1 < n && y+1 < n {
				v := c.Dark(x, y)
				if v == c.Dark(x+1, y) && v == c.Dark(x, y+1) && v == c.Dark(x+1, y+1) {
					score += penaltyN2
				}
			}
		}
	}
	total := n * n
	// The smallest k such that the dark share is within (45 + 5k)% … (55 − 5k)%.
	k := (abs(dark*20-total*10)+total-1)/total - 1
	score += max(k, 0) * penaltyN4
	return score
}

// finderLike counts the occurrences in line of dark-light-dark×3-light-dark
// (1:1:3:1:1) with four light modules before or after it; the area outside
// the symbol counts as light, as the quiet zone is.
func finderLike(line []bool) int {
	n := len(line)
	at := func(i int) bool { return i >= 0 && i < n && line[i] }
	count := 0
	for i := 0; i+7 <= n; i++ {
		if !(at(i) && !at(i+1) && at(i+2) && at(i+3) && at(i+4) && !at(i+5) && at(i+6)) {
			continue
		}
		lightBefore := !at(i-1) && !at(i-2) && !at(i-3) && !at(i-4)
		lightAfter := !at(i+7) && !at(i+8) && !at(i+9) && !at(i+10)
		if lightBefore || lightAfter {
			count++
		}
	}
	return count
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// SVG renders the code as an SVG image with a quiet zone of border modules
// (the standard asks for 4), one unit per module: the viewer scales it
// without blurring. Dark modules are drawn as one path of horizontal runs.
func (c *Code) SVG(border int) []byte {
	size := c.Size + 2*border
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, size, size)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, size, size)
	for y := range c.Size {
		for x := 0; x < c.Size; {
			if !c.Dark(x, y) {
				x++
				continue
			}
			run := 1
			for x+run < c.Size && c.Dark(x+run, y) {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x+border, y+border, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String())
}

// String draws the code with "#" for dark modules and "." for light ones,
// one line per row, without a quiet zone: for tests and debugging.
func (c *Code) String() string {
	var b strings.Builder
	for y := range c.Size {
		for x := range c.Size {
			if c.Dark(x, y) {
				b.WriteByte('#')
			} else {
				b.WriteByte('.')
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}
