package cart

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/internal/secret"
	"github.com/omnicanal/omnicanal/commerce/ratelimit"
)

// Handoff codes: a shopper makes one on the device that has the cart
// (CreateHandoff) and types it, or scans its QR, on another device or
// channel (Resume) — the phone's cart opened at a store kiosk.
//
// A code is HandoffCodeLen characters of HandoffAlphabet, which leaves out
// 0/O, 1/I/L so that nothing read off a screen is ambiguous (and Resume
// ignores case, spaces and dashes). It lives DefaultHandoffTTL, works once,
// and is stored only as its SHA-256. A cart has at most one live code: a new
// one replaces the previous. A signed-in customer's cart can be handed off
// too (to a kiosk that the shopper does not want to sign in on); the token
// it gives is short-lived (ResumeTokenTTLCustomer).
//
// Guessing. Only wrong codes count (a good one gives its unit back), against
// two limits: DefaultResumePerClient per client (ratelimit.ClientFrom: the
// address, or its /64 for IPv6) and DefaultResumeGlobal for all clients
// together — the whole code space, so that spreading guesses over many
// addresses buys nothing beyond it. There are 31^8 = 852,891,037,441 codes
// (about 2^39.6). With L codes live at once, each guess hits one with
// probability L/31^8, so per code lifetime (15 minutes, the window of both
// limits):
//
//   - one client: at most 10 guesses, 10·L/31^8; for L = 1,000 live codes,
//     1.2×10⁻⁸, i.e. one success in about 80 million windows (2,400 years);
//   - everyone together: at most 1,000 guesses, 1,000·L/31^8; for
//     L = 1,000, 1.2×10⁻⁶ per 15 minutes — a guesser saturating the global
//     limit day and night (which also locks every shopper out of Resume, so
//     it is noticed) needs on average about 24 years for one hit, and even
//     then holds a token of a random cart, not of a chosen one.
//
// The fixed windows of package ratelimit may let twice a limit through
// around a window boundary: the figures above are within a factor of two.
// The global limit is the price: a shopper who mistypes while a guesser
// saturates it gets RATE_LIMITED until the window ends. Raise it with the
// number of live codes (typos grow with usage; odds grow with L too), with
// WithResumeLimits.
//
// A stolen copy of cart_handoffs reveals live codes to anyone who hashes
// the 2^39.6 candidates (minutes on a GPU): the hash keeps codes out of
// logs and casual reads, not out of an attacker with the database, who has
// the carts anyway. Codes expire within 15 minutes regardless.

// HandoffAlphabet is the 31 characters of handoff codes: the digits 2–9 and
// the letters A–Z without I, L and O.
const HandoffAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// HandoffCodeLen is the length of a handoff code.
const HandoffCodeLen = 8

// DefaultHandoffTTL is how long a handoff code works: long enough to walk
// to the kiosk, short enough that a code seen over a shoulder goes stale.
const DefaultHandoffTTL = 15 * time.Minute

// Lifetimes of the tokens Resume gives. A guest cart's token lasts like the
// one cartCreate gave (the device is now one of the shopper's). A
// customer's cart is reached by signing in; the token a kiosk gets for it
// lasts only a visit, so a shared screen left open does not keep it.
const (
	ResumeTokenTTLGuest    = 30 * 24 * time.Hour
	ResumeTokenTTLCustomer = 2 * time.Hour
)

// Default limits on wrong handoff codes (see above for the odds they give).
var (
	// DefaultResumePerClient: ten typos in a quarter of an hour is a
	// guesser; a store's kiosks share an address, but they resume codes
	// their shoppers read off their phones, and mistype rarely.
	DefaultResumePerClient = ratelimit.Limit{Max: 10, Window: 15 * time.Minute}
	// DefaultResumeGlobal bounds every client together.
	DefaultResumeGlobal = ratelimit.Limit{Max: 1000, Window: 15 * time.Minute}
)

// Rate-limit scopes (package ratelimit).
const (
	scopeResumeClient = "cart.resume.client"
	scopeResumeGlobal = "cart.resume.global"
)

// Handoff is a code that opens a cart on another device.
type Handoff struct {
	// Code is shown to the shopper; it is not stored.
	Code      string
	CartID    commerce.ID
	ExpiresAt time.Time
}

// newHandoffCode returns a uniformly random code. Bytes of 248 and above
// are drawn again, so that every character is equally likely (248 is the
// largest multiple of 31 that fits in a byte).
func newHandoffCode() (string, error) {
	var b strings.Builder
	buf := make([]byte, 2*HandoffCodeLen)
	for b.Len() < HandoffCodeLen {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		for _, x := range buf {
			if x < 248 && b.Len() < HandoffCodeLen {
				b.WriteByte(HandoffAlphabet[int(x)%len(HandoffAlphabet)])
			}
		}
	}
	return b.String(), nil
}

// NormalizeHandoffCode returns code in its canonical form (upper case,
// without spaces or dashes), and whether it is well-formed.
func NormalizeHandoffCode(code string) (string, bool) {
	code = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t':
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(code)))
	if len(code) != HandoffCodeLen {
		return "", false
	}
	for i := range len(code) {
		if strings.IndexByte(HandoffAlphabet, code[i]) < 0 {
			return "", false
		}
	}
	return code, true
}

func hashHandoffCode(code string) []byte {
	h := sha256.Sum256([]byte(code))
	return h[:]
}

// CreateHandoff makes a handoff code for the cart, which the request must
// reach and which must be active. It replaces the cart's previous unused
// code.
func (s *Service) CreateHandoff(ctx context.Context, id commerce.ID, token string) (*Handoff, error) {
	ch, err := channel.Require(ctx)
	if err != nil {
		return nil, err
	}
	acc := accessFor(ctx, token)
	h := &Handoff{CartID: id}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// KEY SHARE: edits of the cart go on, but a merge or an attach
		// (which lock the cart FOR UPDATE and burn its codes) waits for
		// this code, or this code for them, and then sees the cart
		// merged.
		var status Status
		err := tx.QueryRow(ctx, `SELECT c.status FROM carts c WHERE `+reach+` FOR KEY SHARE`, acc.args(id)).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoBump // explained after the transaction, on another connection
		}
		if err != nil {
			return err
		}
		if status != Active {
			return &commerce.Error{Code: commerce.ErrConflict, Field: "cartId", Message: fmt.Sprintf("this cart is %s and can no longer be handed off", status)}
		}
		// The previous live code, and a few long-dead ones of any cart,
		// whose rows have nothing more to tell.
		if _, err := tx.Exec(ctx, `DELETE FROM cart_handoffs WHERE (cart_id = $1 AND used_at IS NULL)
			OR code_hash IN (SELECT code_hash FROM cart_handoffs WHERE expires_at < now() - interval '1 day' LIMIT 100)`, id); err != nil {
			return err
		}
		// A new code may equal a stored one: a dead one's row is reused;
		// a live one (one chance in 31^8 / live codes) means drawing again.
		for range 5 {
			code, err := newHandoffCode()
			if err != nil {
				return err
			}
			err = tx.QueryRow(ctx, `INSERT INTO cart_handoffs (code_hash, cart_id, channel_id, expires_at)
				VALUES ($1, $2, $3, now() + $4::interval)
				ON CONFLICT (code_hash) DO UPDATE SET cart_id = EXCLUDED.cart_id, channel_id = EXCLUDED.channel_id,
					used_channel_id = NULL, used_at = NULL, created_at = now(), expires_at = EXCLUDED.expires_at
				WHERE cart_handoffs.used_at IS NOT NULL OR cart_handoffs.expires_at <= now()
				RETURNING expires_at`, hashHandoffCode(code), id, ch.ID, s.handoffTTL).Scan(&h.ExpiresAt)
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			}
			h.Code = code
			return err
		}
		return errors.New("no free handoff code after 5 draws")
	})
	if errors.Is(err, errNoBump) {
		err = s.unreachable(ctx, acc, id, "cartId")
	}
	if err != nil {
		return nil, fmt.Errorf("cart.CreateHandoff: %w", err)
	}
	return h, nil
}

// Resume opens the cart of a handoff code on this device: it burns the code
// and returns the cart and a new token of it (see ResumeTokenTTLGuest and
// ResumeTokenTTLCustomer). An unknown, expired or used code, or one whose
// cart is no longer active, is NOT_FOUND (field "code"); too many wrong
// codes are RATE_LIMITED, a code of the wrong shape INVALID_INPUT (it is
// not a guess and is not counted).
func (s *Service) Resume(ctx context.Context, code string) (*Cart, string, error) {
	ch, err := channel.Require(ctx)
	if err != nil {
		return nil, "", err
	}
	norm, ok := NormalizeHandoffCode(code)
	if !ok {
		return nil, "", fmt.Errorf("cart.Resume: %w", commerce.InvalidInput("code",
			"a handoff code has %d characters among %s", HandoffCodeLen, HandoffAlphabet))
	}
	// A unit of each limit is taken before the attempt, so that concurrent
	// guesses cannot all slip past a count made before any of them, and
	// given back when the code works: only wrong codes count.
	var taken []ratelimit.Decision
	refund := func() {
		for _, d := range taken {
			_ = s.limiter.Refund(context.WithoutCancel(ctx), d) // best effort: a lost refund only counts a success
		}
	}
	if client := ratelimit.ClientFrom(ctx); client != "" {
		d, err := s.limiter.Allow(ctx, scopeResumeClient, client, s.resumePerClient)
		if err != nil {
			return nil, "", fmt.Errorf("cart.Resume: %w", err)
		}
		if !d.Allowed {
			return nil, "", fmt.Errorf("cart.Resume: %w", withField(d.Err("too many wrong handoff codes from this device"), "code"))
		}
		taken = append(taken, d)
	}
	d, err := s.limiter.Allow(ctx, scopeResumeGlobal, "", s.resumeGlob)
	if err != nil {
		refund()
		return nil, "", fmt.Errorf("cart.Resume: %w", err)
	}
	if !d.Allowed {
		refund() // this client's attempt did not happen
		return nil, "", fmt.Errorf("cart.Resume: %w", withField(d.Err("too many wrong handoff codes are being tried right now"), "code"))
	}
	taken = append(taken, d)

	var (
		cartID commerce.ID
		token  string
	)
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// The code's row is locked so that two devices typing it at once
		// do not both win, and its cart is KEY SHARE-locked so that a
		// merge cannot burn the code and revoke the cart's tokens between
		// this check and the new token (it waits, then revokes it too).
		var customer bool
		err := tx.QueryRow(ctx, `SELECT h.cart_id, c.customer_id IS NOT NULL
			FROM cart_handoffs h JOIN carts c ON c.id = h.cart_id
			WHERE h.code_hash = $1 AND h.used_at IS NULL AND h.expires_at > now() AND c.status = 'active'
			FOR UPDATE OF h FOR KEY SHARE OF c`, hashHandoffCode(norm)).Scan(&cartID, &customer)
		if errors.Is(err, pgx.ErrNoRows) {
			return &commerce.Error{Code: commerce.ErrNotFound, Field: "code", Message: "this code is unknown, expired or already used"}
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE cart_handoffs SET used_at = now(), used_channel_id = $2 WHERE code_hash = $1`,
			hashHandoffCode(norm), ch.ID); err != nil {
			return err
		}
		ttl := ResumeTokenTTLGuest
		if customer {
			ttl = ResumeTokenTTLCustomer
		}
		token, err = IssueToken(ctx, tx, cartID, ttl)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("cart.Resume: %w", err)
	}
	refund()
	c, err := s.find(ctx, s.pool, access{tokenHash: secret.Hash(token)}, cartID)
	if err != nil {
		return nil, "", fmt.Errorf("cart.Resume: %w", err)
	}
	return c, token, nil
}

func withField(e *commerce.Error, field string) *commerce.Error {
	e.Field = field
	return e
}
