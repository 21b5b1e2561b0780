-- Orders (package commerce/order): checkout turns a cart into an order with
-- its prices, offers and taxes frozen, its stock reserved at one location
-- (stock_reservations, 0010) and a payment started. docs/orders.md has the
-- state machine and the payment flow.

-- Human-readable order numbers: "MS-000123". The sequence only orders them;
-- gaps (a rolled-back checkout) are harmless.
CREATE SEQUENCE order_number_seq;

CREATE TABLE orders (
    id                   uuid PRIMARY KEY,
    number               text NOT NULL DEFAULT 'MS-' || lpad(nextval('order_number_seq')::text, 6, '0'),
    -- The signed-in buyer; NULL for a guest (who reaches the order with an
    -- order token, see order_tokens).
    customer_id          uuid REFERENCES customers (id) ON DELETE SET NULL,
    email                text NOT NULL DEFAULT '',
    -- One order per cart: a second checkout of the cart finds this one.
    cart_id              uuid REFERENCES carts (id) ON DELETE SET NULL,
    -- The channel the checkout came through.
    channel_id           uuid NOT NULL REFERENCES channels (id),
    status               text NOT NULL,
    payment_status       text NOT NULL,
    payment_method       text NOT NULL,
    fulfillment          text NOT NULL,
    -- The pickup store, or the location the parcel ships from.
    location_id          uuid NOT NULL REFERENCES locations (id),
    shipping_address     jsonb,
    currency_code        text NOT NULL,
    -- Minor units of currency_code. total = subtotal - discount + shipping
    -- - shipping_discount; tax is included in total (prices are
    -- tax-inclusive), never added to it.
    subtotal             bigint NOT NULL,
    discount             bigint NOT NULL,
    shipping             bigint NOT NULL DEFAULT 0,
    shipping_discount    bigint NOT NULL DEFAULT 0,
    tax                  bigint NOT NULL,
    total                bigint NOT NULL,
    -- The pricing as it was at checkout: adjustments with their
    -- explanations and offer versions, coupons, skipped offers.
    pricing              jsonb NOT NULL DEFAULT '{}',
    -- When the unpaid reservation lapses (online payment not completed);
    -- NULL when nothing lapses.
    expires_at           timestamptz,
    placed_at            timestamptz,
    -- Click & collect (package commerce/pickup).
    pickup_code_hash     bytea,
    ready_at             timestamptz,
    picked_up_at         timestamptz,
    hold_until           timestamptz,
    arrived_at           timestamptz,
    arrival_spot         text,
    -- The checkout's idempotency key: scope is 'customer:<id>',
    -- 'staff:<id>' or 'channel:<id>'; only the key's SHA-256 is kept.
    idempotency_scope    text,
    idempotency_key_hash bytea,
    -- Payment intent creation claim (see order.ensureIntent): the one
    -- request that calls the provider; others wait for the recorded intent.
    intent_claimed_until timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    version              bigint NOT NULL DEFAULT 1,
    CONSTRAINT orders_number_key UNIQUE (number),
    CONSTRAINT orders_cart_id_key UNIQUE (cart_id),
    CONSTRAINT orders_idempotency_key UNIQUE (idempotency_scope, idempotency_key_hash),
    CONSTRAINT orders_status_check CHECK (status IN ('pending_payment', 'placed', 'preparing',
        'ready_for_pickup', 'picked_up', 'shipped', 'cancelled', 'expired')),
    CONSTRAINT orders_payment_status_check CHECK (payment_status IN ('unpaid', 'pending', 'paid',
        'refunded', 'partially_refunded', 'voided', 'failed')),
    CONSTRAINT orders_payment_method_check CHECK (payment_method IN ('online', 'at_pickup', 'in_store')),
    CONSTRAINT orders_fulfillment_check CHECK (fulfillment IN ('pickup', 'shipping')),
    CONSTRAINT orders_shipping_address_check CHECK ((fulfillment = 'shipping') = (shipping_address IS NOT NULL)),
    CONSTRAINT orders_currency_code_check CHECK (currency_code ~ '^[A-Z]{3}$'),
    CONSTRAINT orders_amounts_check CHECK (subtotal >= 0 AND discount >= 0 AND shipping >= 0
        AND shipping_discount >= 0 AND tax >= 0 AND total >= 0)
);
CREATE INDEX orders_customer_idx ON orders (customer_id, created_at DESC, id DESC) WHERE customer_id IS NOT NULL;
CREATE INDEX orders_location_status_idx ON orders (location_id, status, created_at);
CREATE INDEX orders_expires_idx ON orders (expires_at) WHERE status = 'pending_payment';

-- Secret tokens with which a guest reaches an order ("ot_" + 256 random
-- bits), stored as their SHA-256 like cart tokens. An order may have
-- several: a retried checkout cannot show the first token again (it is not
-- stored), so it issues another.
CREATE TABLE order_tokens (
    token_hash bytea PRIMARY KEY,
    order_id   uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT order_tokens_token_hash_check CHECK (octet_length(token_hash) = 32)
);
CREATE INDEX order_tokens_order_id_idx ON order_tokens (order_id);

CREATE TABLE order_lines (
    order_id     uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    position     integer NOT NULL,
    -- No foreign key: an order keeps what was bought even when the
    -- catalogue forgets the variant.
    variant_id   uuid NOT NULL,
    product_id   uuid NOT NULL,
    sku          text NOT NULL,
    title        text NOT NULL,
    variant_title text NOT NULL DEFAULT '',
    quantity     integer NOT NULL,
    unit_price   bigint NOT NULL,
    subtotal     bigint NOT NULL,
    discount     bigint NOT NULL,
    tax          bigint NOT NULL,
    total        bigint NOT NULL,
    tax_rate_ppm integer NOT NULL,
    -- The line's adjustments: its own offers and its shares of the
    -- order-level ones, each with its explanation and offer version.
    adjustments  jsonb NOT NULL DEFAULT '[]',
    -- The channel that added the line to the cart.
    channel_id   uuid REFERENCES channels (id),
    PRIMARY KEY (order_id, id),
    CONSTRAINT order_lines_quantity_check CHECK (quantity > 0),
    CONSTRAINT order_lines_amounts_check CHECK (unit_price >= 0 AND subtotal >= 0 AND discount >= 0
        AND tax >= 0 AND total >= 0 AND tax <= total)
);
CREATE INDEX order_lines_variant_idx ON order_lines (variant_id);

-- Every change of an order's status or payment status, with who, through
-- which channel, when and why. Append-only.
CREATE TABLE order_transitions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    -- 'status' or 'payment_status'.
    field       text NOT NULL,
    from_state  text NOT NULL DEFAULT '',
    to_state    text NOT NULL,
    actor_kind  text NOT NULL,
    actor_id    uuid,
    channel_id  uuid REFERENCES channels (id),
    reason      text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT order_transitions_field_check CHECK (field IN ('status', 'payment_status')),
    CONSTRAINT order_transitions_actor_kind_check CHECK (actor_kind IN ('customer', 'staff', 'system', 'provider'))
);
CREATE INDEX order_transitions_order_idx ON order_transitions (order_id, id);

-- Payments of an order: a provider intent (online), or an in-store payment
-- recorded by an associate (cash or an external card terminal).
CREATE TABLE order_payments (
    id              uuid PRIMARY KEY,
    order_id        uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    provider        text NOT NULL,
    -- The provider's intent id, once created (the client secret is never
    -- stored: it is fetched from the provider when needed).
    intent_id       text,
    amount          bigint NOT NULL,
    currency_code   text NOT NULL,
    -- Received: what the provider captured; refunded: given back so far.
    received        bigint NOT NULL DEFAULT 0,
    refunded        bigint NOT NULL DEFAULT 0,
    status          text NOT NULL,
    method          text NOT NULL,
    tender          text,
    reference       text NOT NULL DEFAULT '',
    staff_id        uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT order_payments_intent_id_key UNIQUE (intent_id),
    CONSTRAINT order_payments_provider_check CHECK (provider IN ('stripe', 'in_store')),
    CONSTRAINT order_payments_status_check CHECK (status IN ('unpaid', 'pending', 'paid',
        'refunded', 'partially_refunded', 'voided', 'failed')),
    CONSTRAINT order_payments_tender_check CHECK (tender IS NULL OR tender IN ('cash', 'terminal')),
    CONSTRAINT order_payments_amounts_check CHECK (amount >= 0 AND received >= 0 AND refunded >= 0)
);
CREATE INDEX order_payments_order_idx ON order_payments (order_id);

-- Money given back on an order: a provider refund (recorded after the
-- provider answered) or cash / terminal at the till. The idempotency key
-- makes a retried refund count once.
CREATE TABLE order_refunds (
    id                 uuid PRIMARY KEY,
    order_id           uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    payment_id         uuid NOT NULL REFERENCES order_payments (id) ON DELETE CASCADE,
    provider_refund_id text,
    idempotency_key    text NOT NULL,
    amount             bigint NOT NULL,
    tender             text,
    staff_id           uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    reason             text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT order_refunds_idempotency_key UNIQUE (idempotency_key),
    CONSTRAINT order_refunds_amount_check CHECK (amount > 0),
    CONSTRAINT order_refunds_tender_check CHECK (tender IS NULL OR tender IN ('cash', 'terminal'))
);
CREATE INDEX order_refunds_order_idx ON order_refunds (order_id);

-- Provider events already handled, by the provider's event id: a webhook
-- delivered again is recognised and acknowledged without effect.
CREATE TABLE payment_events (
    provider_event_id text PRIMARY KEY,
    type              text NOT NULL,
    intent_id         text NOT NULL DEFAULT '',
    order_id          uuid,
    -- What the handler did: 'applied', 'ignored', 'amount_mismatch', ...
    outcome           text NOT NULL DEFAULT '',
    received_at       timestamptz NOT NULL DEFAULT now()
);

-- VAT rates by country, in millionths (ppm) of the tax-exclusive price:
-- basis points cannot say Québec's 14.975%. Prices are tax-inclusive: a
-- line's tax is total × rate / (1000000 + rate), rounded half up, per line. The rate is the fulfilling location's country's,
-- latest `since` at or before the order. Canada is a simplification: one
-- combined rate, Québec's GST 5% + QST 9.975% = 14.975%, since every demo
-- Canadian location is in Québec.
CREATE TABLE tax_rates (
    country_code text NOT NULL,
    rate_ppm     integer NOT NULL,
    since        date NOT NULL,
    PRIMARY KEY (country_code, since),
    CONSTRAINT tax_rates_country_code_check CHECK (country_code ~ '^[A-Z]{2}$'),
    CONSTRAINT tax_rates_rate_ppm_check CHECK (rate_ppm BETWEEN 0 AND 1000000)
);
INSERT INTO tax_rates (country_code, rate_ppm, since) VALUES
    ('FR', 200000, '2014-01-01'),
    ('CA', 149750, '2013-01-01');

-- A reservation belongs to an order. Deferred: checkout reserves the stock
-- first, then writes the order once it knows where the stock is, in the
-- same transaction.
ALTER TABLE stock_reservations ADD CONSTRAINT stock_reservations_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX stock_reservations_order_idx ON stock_reservations (order_id);
