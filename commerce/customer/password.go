package customer

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

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
// argon2 costly on GPUs; the service bounds how many hashes run at once so
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
var errMalformedHash = errors.New("customer: malformed password hash")

// HashPassword returns the PHC string of password hashed with p and a fresh
// random salt.
func HashPassword(password string, p Params) (string, error) {
	if p.Memory < 8*uint32(p.Threads) || p.Time < 1 || p.Threads < 1 || p.SaltLen < minSaltLen || p.KeyLen < minKeyLen {
		return "", fmt.Errorf("customer: invalid argon2id parameters %+v", p)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("customer: salt: %w", err)
	}
	key := argon2.IDKey([]byte(norm.NFKC.String(password)), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword tells whether password matches the PHC string encoded. The
// comparison takes the same time wherever the keys differ, so timing says
// nothing about how close a guess was. An error means the hash itself is
// unreadable, not that the password is wrong.
func VerifyPassword(password, encoded string) (bool, error) {
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
