package commerce_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/omnicanal/omnicanal/commerce"
)

func TestLeaves(t *testing.T) {
	bad := commerce.InvalidInput("a", "bad")
	gone := commerce.NotFound("gone")
	notInternal := func(e *commerce.Error) bool { return e.Code != commerce.ErrInternal }
	for name, c := range map[string]struct {
		err  error
		want []*commerce.Error
		ok   bool
	}{
		"nil":                {nil, nil, false},
		"one":                {bad, []*commerce.Error{bad}, true},
		"wrapped and joined": {fmt.Errorf("x: %w", errors.Join(bad, fmt.Errorf("y: %w", gone))), []*commerce.Error{bad, gone}, true},
		"a plain error":      {errors.Join(bad, errors.New("disk full")), nil, false},
		"a refused leaf":     {errors.Join(bad, commerce.Errorf(commerce.ErrInternal, "boom")), nil, false},
	} {
		got, ok := commerce.Leaves(c.err, notInternal)
		if ok != c.ok || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v %v, want %v %v", name, got, ok, c.want, c.ok)
		}
	}
}
