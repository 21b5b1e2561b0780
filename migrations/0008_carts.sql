-- The shared cart (package commerce/cart): one cart on every device and
-- channel. Cart totals are never stored: they are priced on read by the
-- pricing engine from current prices and offers.

CREATE TABLE carts (
    id                 uuid PRIMARY KEY,
    -- The signed-in owner; NULL for a guest cart. A cart goes with its
    -- customer (erasure anonymises customers rather than deleting them).
    customer_id        uuid REFERENCES customers (id) ON DELETE CASCADE,
    currency_code      text NOT NULL,
    status             text NOT NULL DEFAULT 'active',
    -- Grows by one with every change of the cart or of its lines, in the
    -- statement that makes the change, so clients can compare-and-set and
    -- live views can tell a newer cart from an older one.
    version            bigint NOT NULL DEFAULT 1,
    -- The store the shopper will collect from; stock checks use it.
    pickup_location_id uuid REFERENCES locations (id),
    -- Coupon codes as entered (trimmed, distinct ignoring case).
    discount_codes     text[] NOT NULL DEFAULT '{}',
    created_channel_id uuid NOT NULL REFERENCES channels (id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT carts_status_check CHECK (status IN ('active', 'converted', 'merged', 'abandoned')),
    CONSTRAINT carts_currency_code_check CHECK (currency_code ~ '^[A-Z]{3}$'),
    CONSTRAINT carts_version_check CHECK (version >= 0)
);

-- A signed-in customer has one active cart, the same on every device. The
-- index makes it true under concurrent sign-ins, not just likely.
CREATE UNIQUE INDEX carts_customer_active_key ON carts (customer_id) WHERE status = 'active';

-- Secret tokens that reach a cart without signing in. Only the SHA-256 of a
-- token is stored (a token is 256 random bits, so a plain hash is enough,
-- as for staff tokens). A cart may have several: the one cartCreate gave,
-- one per idempotent replay of that cartCreate, and the short-lived ones a
-- handoff gives another device. expires_at NULL never expires.
CREATE TABLE cart_tokens (
    token_hash bytea PRIMARY KEY,
    cart_id    uuid NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    CONSTRAINT cart_tokens_token_hash_check CHECK (octet_length(token_hash) = 32)
);
CREATE INDEX cart_tokens_cart_id_idx ON cart_tokens (cart_id);

CREATE TABLE cart_lines (
    cart_id            uuid NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    id                 uuid NOT NULL,
    -- Deleting a variant from the catalog takes it out of carts.
    variant_id         uuid NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    quantity           integer NOT NULL,
    -- The channel that added the line, and the one that changed it last:
    -- cross-channel journeys stay visible.
    channel_id         uuid NOT NULL REFERENCES channels (id),
    updated_channel_id uuid NOT NULL REFERENCES channels (id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cart_id, id),
    -- One line per variant: two devices adding the same variant at once
    -- meet here, and INSERT … ON CONFLICT adds their quantities together.
    CONSTRAINT cart_lines_variant_key UNIQUE (cart_id, variant_id),
    CONSTRAINT cart_lines_quantity_check CHECK (quantity > 0)
);
CREATE INDEX cart_lines_variant_id_idx ON cart_lines (variant_id);

-- Idempotency keys of cartCreate: a retry with the same key returns the
-- cart the first call made (or, for a signed-in customer, the cart it
-- added to) instead of making another. The scope is the customer
-- ('customer:<id>') or, for guests, the channel ('channel:<id>'). Only the
-- SHA-256 of a key is kept: for a guest the key is a secret, since a replay
-- hands out a token of the cart. The request's fingerprint makes reusing a
-- key for another request a CONFLICT rather than a wrong answer.
CREATE TABLE cart_idempotency_keys (
    scope        text NOT NULL,
    key_hash     bytea NOT NULL,
    request_hash bytea NOT NULL,
    -- Deferred: the key is claimed first, so that a concurrent retry waits
    -- for the first call, and the cart it names is written after it.
    cart_id      uuid NOT NULL REFERENCES carts (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key_hash)
);
CREATE INDEX cart_idempotency_keys_cart_id_idx ON cart_idempotency_keys (cart_id);

-- Every change of a cart bumps its version, whoever makes it (the cart
-- service, and later merge and checkout), so notifying on that column
-- tells every server instance of every change, in the transaction that
-- makes it: Postgres delivers the notification at commit, and only then.
-- The live subscription LISTENs on 'cart'; the payload is the cart id.
CREATE FUNCTION carts_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cart', NEW.id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER carts_notify AFTER UPDATE OF version ON carts
    FOR EACH ROW EXECUTE FUNCTION carts_notify();
