package customer

import "github.com/omnicanal/omnicanal/commerce/internal/password"

// Passwords are hashed with argon2id by commerce/internal/password, which
// staff passwords share; see that package for the format and parameters.
// These names keep the customer API as it was.

// Params are argon2id's cost parameters.
type Params = password.Params

// DefaultParams are the parameters of new hashes (see password.DefaultParams).
var DefaultParams = password.DefaultParams

// HashPassword returns the PHC string of pw hashed with p and a fresh salt.
func HashPassword(pw string, p Params) (string, error) { return password.Hash(pw, p) }

// VerifyPassword tells whether pw matches the PHC string encoded. An error
// means the hash itself is unreadable, not that the password is wrong.
func VerifyPassword(pw, encoded string) (bool, error) { return password.Verify(pw, encoded) }

// ParseParams returns the parameters a PHC string was hashed with.
func ParseParams(encoded string) (Params, error) { return password.ParseParams(encoded) }
