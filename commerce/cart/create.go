package cart

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/omnicanal/omnicanal/commerce"
	"github.com/omnicanal/omnicanal/commerce/channel"
	"github.com/omnicanal/omnicanal/commerce/internal/secret"
)

// CreateCart makes a cart in the channel's currency, with lines if given
// (checked like AddLines: all of them are added or the cart is not made).
//
// A guest gets a new cart and its token, shown this once (only its hash is
// kept). A signed-in customer gets their one active cart, made if they have
// none, with the lines added to it, and no token: they reach it by signing
// in.
//
// Idempotency. With a key, a retry of the same request returns the same
// cart instead of making another (keys are per customer, or per channel for
// guests). The token cannot be shown again, since it is not stored, and
// nothing secret is derived from the key; so a guest's retry gets a new
// token of the same cart, and every token the cart was given keeps working.
// Whoever holds a guest's key can therefore obtain a token: the key must be
// as secret as the token and random (see CreateInput). A key works for a
// day; reused for a different request, or later, it is a CONFLICT.
func (s *Service) CreateCart(ctx context.Context, in CreateInput) (*Cart, string, error) {
	ch, err := channel.Require(ctx)
	if err != nil {
		return nil, "", err
	}
	var reqs []lineReq
	if len(in.Lines) > 0 {
		if reqs, err = addRequests(in.Lines, "lines"); err != nil {
			return nil, "", fmt.Errorf("cart.CreateCart: %w", err)
		}
	}
	key := in.IdempotencyKey
	if key != "" && (len(key) < minKeyLen || len(key) > maxKeyLen) {
		return nil, "", fmt.Errorf("cart.CreateCart: %w", commerce.InvalidInput("idempotencyKey",
			"an idempotency key has %d to %d characters", minKeyLen, maxKeyLen))
	}
	customer, signedIn := commerce.CustomerFrom(ctx)
	scope := "channel:" + ch.ID.String()
	if signedIn {
		scope = "customer:" + customer.String()
	}
	keyHash := sha256.Sum256([]byte(key))

	var (
		cartID commerce.ID
		token  string
		acc    access
	)
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		cartID, token, acc = commerce.NewID(), "", access{}
		if signedIn {
			acc.customer = &customer
		}
		if key != "" {
			replayed, err := s.claimKey(ctx, tx, scope, keyHash[:], requestHash(reqs), &cartID)
			if err != nil {
				return err
			}
			if replayed {
				if !signedIn {
					// The first response's token is gone with it: give another.
					token, err = IssueToken(ctx, tx, cartID, 0)
					acc.tokenHash = secret.Hash(token)
				}
				return err
			}
		}
		claimed := cartID
		if err := s.create(ctx, tx, ch, reqs, signedIn, &cartID, &token, &acc); err != nil {
			return err
		}
		if key != "" && cartID != claimed {
			// The customer's existing cart, not the one claimed for.
			_, err := tx.Exec(ctx, `UPDATE cart_idempotency_keys SET cart_id = $3 WHERE scope = $1 AND key_hash = $2`,
				scope, keyHash[:], cartID)
			return err
		}
		return nil
	})
	if err != nil && !isUserError(err) {
		return nil, "", fmt.Errorf("cart.CreateCart: %w", err)
	}
	if err != nil {
		if ferr := s.fillStores(ctx, err); ferr != nil {
			err = ferr
		}
		return nil, "", fmt.Errorf("cart.CreateCart: %w", err)
	}
	c, err := s.find(ctx, s.pool, acc, cartID)
	if err != nil {
		return nil, "", fmt.Errorf("cart.CreateCart: %w", err)
	}
	return c, token, nil
}

// create makes the cart (or finds the customer's) and adds the lines.
func (s *Service) create(ctx context.Context, tx pgx.Tx, ch *channel.Channel, reqs []lineReq, signedIn bool, cartID *commerce.ID, token *string, acc *access) error {
	// A new cart is version 1: 0 when adding the lines will bump it.
	version := 1
	if len(reqs) > 0 {
		version = 0
	}
	if signedIn {
		// The customer's one active cart. On a conflict (they have one,
		// or are making one concurrently on another device: the insert
		// waits for it) the no-op update returns the existing cart.
		if err := tx.QueryRow(ctx, `INSERT INTO carts (id, customer_id, currency_code, version, created_channel_id)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (customer_id) WHERE status = 'active' DO UPDATE SET updated_at = carts.updated_at
			RETURNING id`, *cartID, *acc.customer, string(ch.Currency), version, ch.ID).Scan(cartID); err != nil {
			return err
		}
	} else {
		t, hash := secret.New(TokenPrefix)
		*token, acc.tokenHash = t, hash
		if _, err := tx.Exec(ctx, `WITH c AS (
				INSERT INTO carts (id, currency_code, version, created_channel_id) VALUES ($1, $2, $3, $4) RETURNING id)
			INSERT INTO cart_tokens (token_hash, cart_id) SELECT $5, id FROM c`,
			*cartID, string(ch.Currency), version, ch.ID, hash); err != nil {
			return err
		}
	}
	if len(reqs) == 0 {
		return nil
	}
	_, err := addLines(ctx, tx, &addCall{acc: *acc, id: *cartID, ch: ch, reqs: reqs, field: "lines"}, addPlans, false)
	return err
}

// claimKey records an idempotency key for the cart about to be made in
// *cartID, or finds the cart a first request with the key made: then it
// sets *cartID to it and reports a replay. A concurrent first use blocks
// the insert until that request commits (then this one replays it) or
// rolls back (then this one goes ahead).
func (s *Service) claimKey(ctx context.Context, tx pgx.Tx, scope string, keyHash, reqHash []byte, cartID *commerce.ID) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO cart_idempotency_keys (scope, key_hash, request_hash, cart_id)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, scope, keyHash, reqHash, *cartID)
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 1 {
		return false, nil
	}
	var (
		stored []byte
		fresh  bool
	)
	if err := tx.QueryRow(ctx, `SELECT request_hash, cart_id, created_at > now() - interval '1 day'
		FROM cart_idempotency_keys WHERE scope = $1 AND key_hash = $2`, scope, keyHash).Scan(&stored, cartID, &fresh); err != nil {
		return false, err
	}
	switch {
	case string(stored) != string(reqHash):
		return false, &commerce.Error{Code: commerce.ErrConflict, Field: "idempotencyKey",
			Message: "this idempotency key was already used for a different request"}
	case !fresh:
		return false, &commerce.Error{Code: commerce.ErrConflict, Field: "idempotencyKey",
			Message: "this idempotency key has expired; use a new one"}
	}
	return true, nil
}
