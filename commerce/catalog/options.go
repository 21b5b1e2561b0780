package catalog

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// optionReader decodes the options of variants (a jsonb column holding
// [{"name": …, "value": …}]) for reads of many variants. A listing page
// decodes hundreds of them, and encoding/json's reflection took most of the
// time of reading variants. The names and values repeat from one variant to
// the next (Taille, Couleur, 42, Noir), so each distinct string is made
// once per read and shared.
//
// It reads the shape Postgres writes. Anything else, such as an escaped
// character in a string or another key, goes to encoding/json, so the
// result is always what json.Unmarshal gives.
type optionReader struct {
	strings map[string]string
}

// readColumn decodes column i of the current row, a jsonb or json column
// that the caller's Scan skipped (a nil destination).
func (r *optionReader) readColumn(rows pgx.Rows, i int) ([]OptionValue, error) {
	raw := rows.RawValues()[i]
	if raw == nil {
		return nil, nil // NULL
	}
	if f := rows.FieldDescriptions()[i]; f.Format == pgx.BinaryFormatCode && f.DataTypeOID == pgtype.JSONBOID {
		// jsonb's binary form is a version byte, then the text.
		if len(raw) == 0 || raw[0] != 1 {
			return nil, fmt.Errorf("variant options: unknown jsonb version")
		}
		raw = raw[1:]
	}
	return r.read(raw)
}

// read decodes raw (the JSON text of the column) into a new slice.
func (r *optionReader) read(raw []byte) ([]OptionValue, error) {
	if out, ok := r.fast(raw); ok {
		return out, nil
	}
	var out []OptionValue
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("variant options: %w", err)
	}
	return out, nil
}

// fast decodes raw if it has the plain shape; ok is false otherwise.
func (r *optionReader) fast(raw []byte) (out []OptionValue, ok bool) {
	p := jsonScanner{b: raw}
	if !p.byte('[') {
		return nil, false
	}
	out = []OptionValue{}
	if p.byte(']') {
		return out, p.end()
	}
	for {
		if !p.byte('{') {
			return nil, false
		}
		var v OptionValue
		var seenName, seenValue bool
		for {
			key, ok := p.str()
			if !ok || !p.byte(':') {
				return nil, false
			}
			s, ok := p.str()
			if !ok {
				return nil, false
			}
			switch {
			case string(key) == "name" && !seenName:
				v.Name, seenName = r.intern(s), true
			case string(key) == "value" && !seenValue:
				v.Value, seenValue = r.intern(s), true
			default:
				return nil, false
			}
			if p.byte('}') {
				break
			}
			if !p.byte(',') {
				return nil, false
			}
		}
		out = append(out, v)
		if p.byte(']') {
			return out, p.end()
		}
		if !p.byte(',') {
			return nil, false
		}
	}
}

func (r *optionReader) intern(b []byte) string {
	if s, ok := r.strings[string(b)]; ok {
		return s
	}
	if r.strings == nil {
		r.strings = map[string]string{}
	}
	s := string(b)
	r.strings[s] = s
	return s
}

// jsonScanner walks JSON text for optionReader.fast.
type jsonScanner struct {
	b []byte
	i int
}

func (p *jsonScanner) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\n' || p.b[p.i] == '\t' || p.b[p.i] == '\r') {
		p.i++
	}
}

// byte consumes c, after any white space, if it comes next.
func (p *jsonScanner) byte(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str consumes a string without escapes or control characters and
// returns its bytes; ok is false for anything else.
func (p *jsonScanner) str() (s []byte, ok bool) {
	if !p.byte('"') {
		return nil, false
	}
	start, ascii := p.i, true
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			s = p.b[start:p.i]
			p.i++
			// encoding/json would replace invalid UTF-8; leave it that work.
			return s, ascii || utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// end tells whether only white space is left.
func (p *jsonScanner) end() bool {
	p.space()
	return p.i == len(p.b)
}
