package qr

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// The Reed–Solomon codewords of the worked example of the standard's
// tutorials ("HELLO WORLD", version 1-M, alphanumeric mode): the data
// codewords and the error correction codewords they must give.
func TestReedSolomonKnownVector(t *testing.T) {
	data := []byte{32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17}
	want := []byte{196, 35, 39, 119, 235, 215, 231, 226, 93, 23}
	if got := rsRemainder(data, rsDivisor(10)); !bytes.Equal(got, want) {
		t.Fatalf("EC codewords %v, want %v", got, want)
	}
}

// The block table agrees with the number of data modules each version
// has (the standard's formula), and its remainder bits are 0 or 7.
func TestBlockTableFitsTheSymbols(t *testing.T) {
	for ver := 1; ver <= 9; ver++ {
		size := 4*ver + 17
		c := &Code{Version: ver, Size: size, modules: make([]bool, size*size), isFunc: make([]bool, size*size)}
		c.drawFunctionPatterns()
		free := 0
		for _, f := range c.isFunc {
			if !f {
				free++
			}
		}
		b := levelM[ver]
		total := (b.count1+b.count2)*b.ecLen + dataCodewords(ver)
		if free/8 != total || (free%8 != 0 && free%8 != 7) {
			t.Errorf("version %d: %d data modules, %d codewords in the table", ver, free, total)
		}
	}
}

// vector is a symbol libqrencode made (testdata/libqrencode.txt).
type vector struct {
	text string
	rows []string
}

func readVectors(t *testing.T) []vector {
	t.Helper()
	raw, err := os.ReadFile("testdata/libqrencode.txt")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	for line := range strings.SplitSeq(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "text: "):
			vs = append(vs, vector{text: strings.TrimPrefix(line, "text: ")})
		case len(vs) > 0 && len(line) >= 21 && strings.Trim(line, "#.") == "":
			vs[len(vs)-1].rows = append(vs[len(vs)-1].rows, line)
		}
	}
	if len(vs) < 10 {
		t.Fatalf("%d vectors", len(vs))
	}
	return vs
}

// maskOf reads the mask from a symbol's first copy of the format bits.
func maskOf(rows []string) int {
	bits := 0
	dark := func(x, y int) bool { return rows[y][x] == '#' }
	// Bits 14…9 at (0..5, 8), 8 at (7, 8), 7 at (8, 8), 6 at (8, 7), 5…0 at (8, 5..0).
	for i := range 6 {
		if dark(8, i) {
			bits |= 1 << i
		}
	}
	if dark(8, 7) {
		bits |= 1 << 6
	}
	if dark(8, 8) {
		bits |= 1 << 7
	}
	if dark(7, 8) {
		bits |= 1 << 8
	}
	for i := 9; i < 15; i++ {
		if dark(14-i, 8) {
			bits |= 1 << i
		}
	}
	return (bits ^ 0x5412) >> 10 & 7
}

// Every symbol of versions 1 to 9 — one and two block sizes, with and
// without alignment patterns and version information — is the one
// libqrencode makes, module for module, given its mask; and the mask our
// penalty picks is logged beside libqrencode's (implementations differ
// slightly in the finder-like rule, and any mask is a valid symbol).
func TestSymbolsMatchLibqrencode(t *testing.T) {
	versions := map[int]bool{}
	for _, v := range readVectors(t) {
		mask := maskOf(v.rows)
		c, err := encode(v.text, mask)
		if err != nil {
			t.Fatal(err)
		}
		versions[c.Version] = true
		if got, want := c.String(), strings.Join(v.rows, "\n")+"\n"; got != want {
			t.Errorf("%q (version %d, mask %d) differs from libqrencode's:\n%s\nwant:\n%s", v.text, c.Version, mask, got, want)
			continue
		}
		auto, err := Encode(v.text)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("version %d, %3d bytes: mask %d (libqrencode %d)", auto.Version, len(v.text), auto.Mask, mask)
	}
	for ver := 1; ver <= 9; ver++ {
		if !versions[ver] {
			t.Errorf("no vector of version %d", ver)
		}
	}
}

// The mask chosen has the lowest penalty of the eight.
func TestMaskHasTheLowestPenalty(t *testing.T) {
	text := "http://localhost:8080/kiosk/?code=ABCD2345"
	auto, err := Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	best := auto.penalty()
	for m := range 8 {
		c, _ := encode(text, m)
		if p := c.penalty(); p < best {
			t.Errorf("mask %d scores %d, below the chosen mask %d's %d", m, p, auto.Mask, best)
		}
	}
}

func TestLimits(t *testing.T) {
	if _, err := Encode(strings.Repeat("x", MaxBytes)); err != nil {
		t.Fatalf("%d bytes: %v", MaxBytes, err)
	}
	if _, err := Encode(strings.Repeat("x", MaxBytes+1)); !errors.Is(err, ErrTooLong) {
		t.Fatalf("%d bytes: %v", MaxBytes+1, err)
	}
	c, err := Encode("")
	if err != nil || c.Version != 1 {
		t.Fatalf("empty text: %v", err)
	}
}

// The SVG is well-formed XML with one unit per module and a quiet zone,
// and its dark area is exactly the dark modules.
func TestSVG(t *testing.T) {
	c, err := Encode("HELLO")
	if err != nil {
		t.Fatal(err)
	}
	svg := c.SVG(4)
	var doc struct {
		ViewBox string `xml:"viewBox,attr"`
		Path    struct {
			D string `xml:"d,attr"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal(svg, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.ViewBox != "0 0 29 29" {
		t.Fatalf("viewBox %q", doc.ViewBox)
	}
	dark, drawn := strings.Count(c.String(), "#"), 0
	for _, seg := range strings.Split(doc.Path.D, "M")[1:] {
		var x, y, w, w2 int
		if _, err := fmt.Sscanf(seg, "%d %dh%dv1h-%dz", &x, &y, &w, &w2); err != nil || w != w2 || x < 4 || y < 4 {
			t.Fatalf("segment %q: %v", seg, err)
		}
		drawn += w
	}
	if drawn != dark {
		t.Fatalf("%d modules drawn, %d dark", drawn, dark)
	}
}
