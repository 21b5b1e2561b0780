-- Returns (package commerce/returns): units of an order brought back to a
-- store, restocked there, and the refund they give. docs/orders.md
-- ("Returns") has the refund rule.

-- How many units of each order line have been returned so far. Returns
-- raise it with one conditional update, so concurrent returns of the same
-- line can never exceed what was bought.
ALTER TABLE order_lines ADD COLUMN returned_quantity integer NOT NULL DEFAULT 0;
ALTER TABLE order_lines ADD CONSTRAINT order_lines_returned_quantity_check
    CHECK (returned_quantity >= 0 AND returned_quantity <= quantity);

CREATE TABLE returns (
    id                   uuid PRIMARY KEY,
    order_id             uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    -- The receiving store: where the units are (or will be) brought and
    -- restocked.
    location_id          uuid NOT NULL REFERENCES locations (id),
    -- requested: started by the customer, units not received yet;
    -- received: units in the store, restocked, refund due or done.
    status               text NOT NULL,
    reason               text NOT NULL DEFAULT '',
    -- original: back to the order's payment (the provider for an online
    -- payment, the till's tender for an in-store one); cash: at the till.
    refund_method        text NOT NULL,
    currency_code        text NOT NULL,
    -- Minor units. refund_amount is what this return gives back (after the
    -- claw-back); clawback the discount the kept units lost.
    refund_amount        bigint NOT NULL,
    clawback             bigint NOT NULL DEFAULT 0,
    -- none (nothing to give back), pending (due, or the provider call not
    -- done yet), refunded.
    refund_status        text NOT NULL,
    created_by_kind      text NOT NULL,
    created_by_id        uuid,
    received_by          uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    -- The request's idempotency key: scope is 'staff:<id>',
    -- 'customer:<id>' or 'order:<id>' (a guest with the order token); only
    -- the key's SHA-256 is kept.
    idempotency_scope    text NOT NULL,
    idempotency_key_hash bytea NOT NULL,
    received_at          timestamptz,
    refunded_at          timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT returns_idempotency_key UNIQUE (idempotency_scope, idempotency_key_hash),
    CONSTRAINT returns_status_check CHECK (status IN ('requested', 'received')),
    CONSTRAINT returns_refund_method_check CHECK (refund_method IN ('original', 'cash')),
    CONSTRAINT returns_refund_status_check CHECK (refund_status IN ('none', 'pending', 'refunded')),
    CONSTRAINT returns_created_by_kind_check CHECK (created_by_kind IN ('customer', 'staff')),
    CONSTRAINT returns_amounts_check CHECK (refund_amount >= 0 AND clawback >= 0)
);
CREATE INDEX returns_order_idx ON returns (order_id, created_at);
CREATE INDEX returns_location_status_idx ON returns (location_id, status, created_at);

CREATE TABLE return_lines (
    return_id     uuid NOT NULL REFERENCES returns (id) ON DELETE CASCADE,
    order_id      uuid NOT NULL,
    order_line_id uuid NOT NULL,
    variant_id    uuid NOT NULL,
    quantity      integer NOT NULL,
    -- The units' share of what the line was paid, before any claw-back.
    paid          bigint NOT NULL,
    PRIMARY KEY (return_id, order_line_id),
    FOREIGN KEY (order_id, order_line_id) REFERENCES order_lines (order_id, id) ON DELETE CASCADE,
    CONSTRAINT return_lines_quantity_check CHECK (quantity > 0),
    CONSTRAINT return_lines_paid_check CHECK (paid >= 0)
);
