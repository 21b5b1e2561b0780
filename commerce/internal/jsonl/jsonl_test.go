package jsonl_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/omnicanal/omnicanal/commerce/internal/jsonl"
)

func read(t *testing.T, in string, maxBytes, maxLines int) []jsonl.Line {
	t.Helper()
	var got []jsonl.Line
	if err := jsonl.Each(context.Background(), strings.NewReader(in), maxBytes, maxLines, func(l jsonl.Line) error {
		got = append(got, l)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestEach(t *testing.T) {
	long := strings.Repeat("x", 100_000) // longer than the reader's buffer
	for _, tc := range []struct {
		name string
		in   string
		want []jsonl.Line
	}{
		{"empty", "", nil},
		{"blank lines are skipped but counted", "a\n\n  \nb", []jsonl.Line{{N: 1, Raw: []byte("a")}, {N: 4, Raw: []byte("b")}}},
		{"a final newline adds no line", "a\nb\n", []jsonl.Line{{N: 1, Raw: []byte("a")}, {N: 2, Raw: []byte("b")}}},
		{"a line at the limit is kept", "12345\n", []jsonl.Line{{N: 1, Raw: []byte("12345")}}},
		{"a long line is reported and reading goes on", "123456\n" + long + "\nc", []jsonl.Line{{N: 1, TooLong: true}, {N: 2, TooLong: true}, {N: 3, Raw: []byte("c")}}},
		{"past the count, one line is reported and reading stops", "a\nb\nc\nd\ne", []jsonl.Line{{N: 1, Raw: []byte("a")}, {N: 2, Raw: []byte("b")}, {N: 3, Raw: []byte("c")}, {N: 4, TooMany: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := read(t, tc.in, 5, 3); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestEachStops(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := jsonl.Each(context.Background(), strings.NewReader("a\nb\n"), 10, 10, func(jsonl.Line) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("fn's error: got %v after %d calls", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := jsonl.Each(ctx, strings.NewReader("a\n"), 10, 10, func(jsonl.Line) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("ended context: got %v", err)
	}
}

func TestDecode(t *testing.T) {
	type obj struct {
		N int `json:"n"`
	}
	for in, want := range map[string]string{
		`{"n": 1}`:          "",
		`{"n": 1} {"n": 2}`: "a line holds one JSON object",
		`{"n": 1, "m": 2}`:  `unknown field "m"`,
		`{"n": "1"}`:        "n must be a int, not a string",
		`{"n": ` + "\x01}":  "invalid character",
	} {
		var v obj
		err := jsonl.Decode([]byte(in), &v)
		switch {
		case want == "" && err != nil:
			t.Errorf("Decode(%q): %v", in, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("Decode(%q) = %v, want %q", in, err, want)
		}
	}
}
