package secret_test

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/omnicanal/omnicanal/commerce/internal/secret"
)

func TestNew(t *testing.T) {
	token, hash := secret.New("gt_")
	if !strings.HasPrefix(token, "gt_") || len(token) != 3+43 {
		t.Fatalf("token %q: want gt_ and 43 base64url characters", token)
	}
	if want := sha256.Sum256([]byte(token)); !bytes.Equal(hash, want[:]) || !bytes.Equal(secret.Hash(token), want[:]) {
		t.Fatal("the hash is not the token's SHA-256")
	}
	if other, _ := secret.New("gt_"); other == token {
		t.Fatal("two tokens are equal")
	}
}

func TestWellFormed(t *testing.T) {
	token, _ := secret.New("ot_")
	for _, tc := range []struct {
		prefix, token string
		want          bool
	}{
		{"ot_", token, true},
		{"gt_", token, false},                      // another kind
		{"ot_", token[:len(token)-1], false},       // short
		{"ot_", token + "A", false},                // long
		{"ot_", token[:len(token)-1] + "+", false}, // not base64url
		{"ot_", "xx_" + token[3:], false},          // prefix replaced
		{"ot_", "", false},
		{"", token[3:], true}, // no prefix
	} {
		if got := secret.WellFormed(tc.prefix, tc.token); got != tc.want {
			t.Errorf("WellFormed(%q, %q) = %v, want %v", tc.prefix, tc.token, got, tc.want)
		}
	}
}
