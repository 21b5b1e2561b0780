package password_test

import (
	"context"
	"strings"
	"testing"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/internal/password"
)

var cheap = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHasher(t *testing.T) {
	ctx := context.Background()
	h := password.NewHasher(cheap)
	enc, err := h.Hash(ctx, "caf\u00e9 au lait")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Verify(ctx, "cafe\u0301 au lait", enc); !ok || err != nil {
		t.Errorf("the same password in another Unicode form: %v %v", ok, err)
	}
	if ok, err := h.Verify(ctx, "café au lai", enc); ok || err != nil {
		t.Errorf("a wrong password: %v %v", ok, err)
	}
	if h.Outdated(enc) {
		t.Error("a hash made with the hasher's parameters is outdated")
	}
	if !password.NewHasher(password.DefaultParams).Outdated(enc) {
		t.Error("a cheap hash is not outdated for the default parameters")
	}
	h.VerifyNobody(ctx, "anything") // must not panic or block
}

func TestValidate(t *testing.T) {
	for pw, ok := range map[string]bool{
		"":                                     false,
		"seven77":                              false,
		"eight888":                             true,
		strings.Repeat("x", password.MaxLen):   true,
		strings.Repeat("x", password.MaxLen+1): false,
		strings.Repeat("é", 8):                 true,
	} {
		err := password.Validate(pw)
		if (err == nil) != ok {
			t.Errorf("Validate(%d chars): %v, want ok=%v", len([]rune(pw)), err, ok)
		}
		if err != nil && (commerce.ErrorCode(err) != commerce.ErrInvalidInput || err.(*commerce.Error).Field != "password") {
			t.Errorf("Validate error %v, want INVALID_INPUT on password", err)
		}
	}
}
