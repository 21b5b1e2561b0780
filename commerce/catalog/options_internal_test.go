package catalog

import (
	"encoding/json"
	"reflect"
	"testing"
	"unsafe"
)

// optionReader gives what encoding/json gives, on its fast path and off it.
func TestOptionReaderMatchesEncodingJSON(t *testing.T) {
	cases := []struct {
		raw  string
		fast bool // expected to take the fast path
	}{
		{`[]`, true},
		{`[{"name": "Taille", "value": "42"}]`, true},
		{`[{"name": "Taille", "value": "42"}, {"name": "Couleur", "value": "Écru"}]`, true},
		{`[{"value":"Noir","name":"Couleur"}]`, true},
		{" [ { \"name\" : \"a\" ,\n \"value\" : \"\" } ] ", true},
		{`[{"name": "Matière", "value": "Laine \"mérinos\""}]`, false}, // escapes
		{`[{"name": "Taille", "value": "\u0034\u0032"}]`, false},
		{`[{"Name": "Taille", "Value": "42"}]`, false}, // json matches keys without case
		{`[{"name": "Taille", "value": "42", "extra": "x"}]`, false},
		{`[{"name": "a", "name": "b", "value": "c"}]`, false},
		{`[{"name": "Taille"}]`, true},
		{`[{}]`, false},
		{`null`, false},
		{`[{"name": 1, "value": "x"}]`, false},
		{"[{\"name\": \"\xff\", \"value\": \"x\"}]", false}, // invalid UTF-8
	}
	for _, c := range cases {
		var want []OptionValue
		wantErr := json.Unmarshal([]byte(c.raw), &want)
		var r optionReader
		_, fast := r.fast([]byte(c.raw))
		if fast != c.fast {
			t.Errorf("%s: fast path %v, want %v", c.raw, fast, c.fast)
		}
		got, err := r.read([]byte(c.raw))
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%s: error %v, encoding/json says %v", c.raw, err, wantErr)
			continue
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %#v, encoding/json gives %#v", c.raw, got, want)
		}
	}
	// Malformed input is an error, as it is for encoding/json.
	for _, raw := range []string{`[`, `[{"name": "a"`, `[{"name": "a"}]x`, `{"name": "a"}`, ``} {
		var r optionReader
		if got, err := r.read([]byte(raw)); err == nil {
			t.Errorf("%q: no error, got %#v", raw, got)
		}
	}
}

// Equal strings are made once per reader and shared.
func TestOptionReaderSharesStrings(t *testing.T) {
	var r optionReader
	a, _ := r.read([]byte(`[{"name": "Taille", "value": "42"}]`))
	b, _ := r.read([]byte(`[{"name": "Taille", "value": "43"}]`))
	if unsafeData(a[0].Name) != unsafeData(b[0].Name) {
		t.Error("the two names are separate strings")
	}
}

func unsafeData(s string) *byte { return unsafe.StringData(s) }
