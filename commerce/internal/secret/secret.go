// Package secret makes and checks the bearer tokens that reach carts and
// guest orders: a prefix naming the kind ("gt_" for a cart, "ot_" for an
// order), so that a token is recognisable in a secret scanner and cannot
// be taken for another kind, then 256 random bits in base64url. A token is
// shown once and stored only as its SHA-256 (Hash), compared in SQL.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// entropy is a token's random part: 256 bits, far beyond guessing.
const entropy = 32

var encodedLen = base64.RawURLEncoding.EncodedLen(entropy)

// New returns a fresh token starting with prefix, and the hash to store
// for it.
func New(prefix string) (token string, hash []byte) {
	raw := make([]byte, entropy)
	_, _ = rand.Read(raw) // never fails: it crashes the program instead
	token = prefix + base64.RawURLEncoding.EncodeToString(raw)
	return token, Hash(token)
}

// Hash is the SHA-256 of token, by which it is stored and looked up.
func Hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// WellFormed tells whether token could be one New(prefix) made, which
// spares the database a lookup of anything else.
func WellFormed(prefix, token string) bool {
	if len(token) != len(prefix)+encodedLen || !strings.HasPrefix(token, prefix) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token[len(prefix):])
	return err == nil
}
