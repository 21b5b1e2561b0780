-- Resume a cart anywhere (package commerce/cart): short handoff codes that
-- another device or channel types (or scans as a QR) to open the cart, guest
-- carts merged into their customer's cart at sign-in, and cart tokens that
-- are revoked rather than deleted, so that a device whose token stopped
-- working can be told why.

-- A merged cart points to the cart its lines went to. Only a merged cart has
-- one (the pointer goes when the target is deleted, which keeps the check
-- one-way).
ALTER TABLE carts ADD COLUMN merged_into_id uuid REFERENCES carts (id) ON DELETE SET NULL;
ALTER TABLE carts ADD CONSTRAINT carts_merged_into_check CHECK (merged_into_id IS NULL OR status = 'merged');

-- A token stops working when its cart is attached to a customer or merged
-- into a customer's cart. Keeping the row, with the time, lets the service
-- answer "this cart was merged into your account's cart: sign in" instead of
-- a bare "not found" to a device that still holds the token; the token
-- itself is still only a hash.
ALTER TABLE cart_tokens ADD COLUMN revoked_at timestamptz;

-- Handoff codes: 8 characters a shopper types on another device (a kiosk, a
-- laptop) to open the cart there. Only the SHA-256 of the code is stored. A
-- code is single use (used_at is set in the statement that accepts it, so
-- two devices typing it at once cannot both win) and short-lived
-- (expires_at, ~15 minutes). A cart has at most one unused code: making a
-- new one deletes the previous. Expired and used rows are pruned a day
-- later; until then they tell which channels a cart went through.
CREATE TABLE cart_handoffs (
    code_hash       bytea PRIMARY KEY,
    cart_id         uuid NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    -- The channel the code was made on, and the one it was used on.
    channel_id      uuid NOT NULL REFERENCES channels (id),
    used_channel_id uuid REFERENCES channels (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    CONSTRAINT cart_handoffs_code_hash_check CHECK (octet_length(code_hash) = 32),
    CONSTRAINT cart_handoffs_expires_at_check CHECK (expires_at > created_at)
);
CREATE INDEX cart_handoffs_cart_id_idx ON cart_handoffs (cart_id);
CREATE INDEX cart_handoffs_expires_at_idx ON cart_handoffs (expires_at);
