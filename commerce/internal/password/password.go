// Package password hashes and verifies the passwords of customers and staff,
// and bounds the work that costs.
//
// Passwords are hashed with argon2id (RFC 9106), the memory-hard KDF that
// OWASP's Password Storage Cheat Sheet recommends first, and stored in the
// PHC string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// (salt and hash in unpadded standard base64). The string carries its own
// parameters and salt, so a hash made with older parameters still verifies
// after DefaultParams are raised, and is upgraded at the next sign-in.
//
// Before hashing, a password is put in Unicode normalization form NFKC
// (NIST SP 800-63B §5.1.1.2): the same password typed on a phone, a laptop
// or a store kiosk may arrive as different code point sequences ("é" as one
// code point or as "e" plus an accent), and must still match.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/omnicanal/omnicanal/commerce"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB of memory per hash
	Time    uint32 // passes over the memory
	Threads uint8  // lanes (parallelism)
	SaltLen uint32 // random salt, bytes
	KeyLen  uint32 // derived key, bytes
}

// DefaultParams are OWASP's first argon2id configuration: 19 MiB of memory,
// 2 passes, 1 lane, with a 128-bit salt and a 256-bit key. About 20–40 ms of
// one core per hash on a small server: slow for an offline guesser with a
// stolen table, affordable at sign-in. Memory, not time, is what makes
// argon2 costly on GPUs; a Hasher bounds how many hashes run at once so
// that a burst of sign-ins cannot exhaust the server's memory.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on parameters read from a stored hash: a corrupt or hostile row
// must not make one verification allocate gigabytes or spin for minutes.
const (
	maxMemory  = 1 << 20 // 1 GiB
	maxTime    = 16
	maxThreads = 64
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

var b64 = base64.RawStdEncoding

// errMalformedHash is an internal error: hashes are written by this package only.
var errMalformedHash = errors.New("password: malformed password hash")

// Hash returns the PHC string of password hashed with p and a fresh
// random salt.
func Hash(password string, p Params) (string, error) {
	if p.Memory < 8*uint32(p.Threads) || p.Time < 1 || p.Threads < 1 || p.SaltLen < minSaltLen || p.KeyLen < minKeyLen {
		return "", fmt.Errorf("password: invalid argon2id parameters %+v", p)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key := argon2.IDKey([]byte(norm.NFKC.String(password)), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify tells whether password matches the PHC string encoded. The
// comparison takes the same time wherever the keys differ, so timing says
// nothing about how close a guess was. An error means the hash itself is
// unreadable, not that the password is wrong.
func Verify(password, encoded string) (bool, error) {
	p, salt, want, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(norm.NFKC.String(password)), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// ParseParams returns the parameters a PHC string was hashed with.
func ParseParams(encoded string) (Params, error) {
	p, _, _, err := parseHash(encoded)
	return p, err
}

func parseHash(encoded string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return Params{}, nil, nil, errMalformedHash
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); err != nil ||
		parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, threads) {
		return Params{}, nil, nil, errMalformedHash
	}
	if threads < 1 || threads > maxThreads || p.Time < 1 || p.Time > maxTime || p.Memory < 8*threads || p.Memory > maxMemory {
		return Params{}, nil, nil, errMalformedHash
	}
	p.Threads = uint8(threads)
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return Params{}, nil, nil, errMalformedHash
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return Params{}, nil, nil, errMalformedHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// Length bounds of a new password, in characters after normalization.
// Eight is NIST SP 800-63B's minimum for a user-chosen secret; the maximum
// leaves room for passphrases and password managers while keeping hashing
// inputs small.
const (
	MinLen = 8
	MaxLen = 256
)

// Validate checks the length of a new password; what it contains is its
// owner's business (NIST SP 800-63B advises against composition rules,
// which push people to predictable patterns). The error names the field
// "password".
func Validate(password string) error {
	n := utf8.RuneCountInString(norm.NFKC.String(password))
	if n < MinLen || n > MaxLen {
		return commerce.InvalidInput("password", "a password of %d to %d characters is required", MinLen, MaxLen)
	}
	return nil
}

// Hasher hashes and verifies passwords with a service's parameters, at
// most one per core at a time: each hash takes Params.Memory, so an
// unbounded burst of sign-ins could exhaust the server's memory, and
// beyond one per core they would only queue for the CPU anyway.
type Hasher struct {
	params Params
	slots  chan struct{}

	dummyOnce sync.Once
	dummyHash string
}

// NewHasher returns a hasher making new hashes with p.
func NewHasher(p Params) *Hasher {
	return &Hasher{params: p, slots: make(chan struct{}, max(runtime.GOMAXPROCS(0), 1))}
}

// Params returns the parameters of new hashes.
func (h *Hasher) Params() Params { return h.params }

// Hash hashes password with the hasher's parameters, waiting for a slot.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return Hash(password, h.params)
}

// Verify checks password against encoded, waiting for a slot.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	return Verify(password, encoded)
}

// VerifyNobody spends the work of a verification against a hash of no
// one's password, made with the current parameters: a sign-in for an
// unknown account calls it so that response times do not tell which
// accounts exist.
func (h *Hasher) VerifyNobody(ctx context.Context, password string) {
	_, _ = h.Verify(ctx, password, h.dummy())
}

// Outdated tells whether encoded was made with other parameters than the
// hasher's, so that a sign-in that just verified the password may rehash it.
func (h *Hasher) Outdated(encoded string) bool {
	p, err := ParseParams(encoded)
	return err == nil && p != h.params
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

func (h *Hasher) dummy() string {
	h.dummyOnce.Do(func() {
		d, err := Hash("no account has this password", h.params)
		if err != nil {
			d, _ = Hash("no account has this password", DefaultParams)
		}
		h.dummyHash = d
	})
	return h.dummyHash
}
