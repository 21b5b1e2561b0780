-- Offers and coupon codes (the pricing engine's pricing.Offer, stored), their
-- version history, and the redemptions that enforce usage limits.
--
-- Storage choice: an offer's definition is one jsonb document (written and
-- validated by commerce/offer with pricing.Offer.Validate), beside plain
-- columns holding only what SQL itself must see: the coupon code's
-- uniqueness, what ActiveOffers filters on, the usage limits Redeem enforces
-- and what the staff listing shows. The definition is read and written whole
-- (the engine needs the whole offer, staff edit the whole offer), and the
-- history must keep exactly the same document, so one JSON form serves both
-- tables and a version recorded by an order can always be read back, even
-- after later migrations change the offers table. The columns are derived
-- from the document by the same Go code in the same statement.

CREATE TABLE offers (
    id                       uuid PRIMARY KEY,
    -- Incremented by every change of the definition; adjustments and
    -- redemptions record it.
    version                  bigint NOT NULL DEFAULT 1,
    title                    text NOT NULL,
    kind                     text NOT NULL,
    priority                 integer NOT NULL DEFAULT 0,
    -- The definition (pricing.Offer without id and version), see
    -- commerce/offer/definition.go for its fields.
    definition               jsonb NOT NULL,
    -- The currency of the offer's amounts; NULL for a pure percentage offer,
    -- which applies in every currency.
    currency_code            text,
    -- The coupon code as staff typed it, and its case-folded form (Go's
    -- Unicode simple folding, the very equality the engine uses to match an
    -- entered code; lower() depends on the database's locale and would not
    -- fold 'É' in a C-locale cluster).
    code                     text,
    code_key                 text,
    starts_at                timestamptz,
    ends_at                  timestamptz,
    -- 0 is unlimited.
    usage_limit              integer NOT NULL DEFAULT 0,
    usage_limit_per_customer integer NOT NULL DEFAULT 0,
    -- A disabled offer no longer applies anywhere; it is kept (never
    -- deleted) because orders refer to its versions.
    disabled_at              timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT offers_version_check CHECK (version >= 1),
    CONSTRAINT offers_title_check CHECK (btrim(title) <> '' AND length(title) <= 255),
    CONSTRAINT offers_kind_check CHECK (kind IN
        ('percentage_off', 'amount_off', 'fixed_price', 'buy_x_get_y', 'tiered', 'free_shipping')),
    CONSTRAINT offers_definition_check CHECK (jsonb_typeof(definition) = 'object'),
    CONSTRAINT offers_currency_code_check CHECK (currency_code ~ '^[A-Z]{3}$'),
    CONSTRAINT offers_code_check CHECK ((code IS NULL) = (code_key IS NULL) AND code <> ''),
    CONSTRAINT offers_window_check CHECK (ends_at > starts_at),
    CONSTRAINT offers_usage_limit_check CHECK (usage_limit >= 0 AND usage_limit_per_customer >= 0)
);

-- A code names one live offer, whatever its letter case. Disabled offers
-- let go of their code, so next summer's SUMMER can be a new offer.
CREATE UNIQUE INDEX offers_code_key ON offers (code_key) WHERE code_key IS NOT NULL AND disabled_at IS NULL;
-- ActiveOffers: the live offers that have not ended.
CREATE INDEX offers_live_idx ON offers (ends_at) WHERE disabled_at IS NULL;

-- Every version an offer ever had, so that an order can show exactly which
-- definition priced it. Rows are only ever inserted.
CREATE TABLE offer_versions (
    offer_id   uuid NOT NULL REFERENCES offers (id),
    version    bigint NOT NULL,
    definition jsonb NOT NULL,
    -- The staff user who wrote this version.
    created_by uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (offer_id, version),
    CONSTRAINT offer_versions_definition_check CHECK (jsonb_typeof(definition) = 'object')
);

-- One row per offer used by an order (or any other reference a checkout
-- gives): the ledger of uses. customer_id is NULL for a guest; it has no
-- foreign key yet because customers arrive in their own migration.
CREATE TABLE offer_redemptions (
    id            uuid PRIMARY KEY,
    offer_id      uuid NOT NULL REFERENCES offers (id),
    offer_version bigint NOT NULL,
    customer_id   uuid,
    reference     text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- A retried checkout cannot use an offer twice for one order.
    CONSTRAINT offer_redemptions_reference_key UNIQUE (offer_id, reference),
    CONSTRAINT offer_redemptions_reference_check CHECK (length(reference) BETWEEN 1 AND 200)
);
CREATE INDEX offer_redemptions_reference_idx ON offer_redemptions (reference);
CREATE INDEX offer_redemptions_customer_idx ON offer_redemptions (offer_id, customer_id) WHERE customer_id IS NOT NULL;

-- Usage counters, kept only for offers that have a limit of that kind: the
-- limit is enforced by one conditional upsert on the counter's row
-- (uses < limit), which Postgres evaluates on the latest committed row, so
-- concurrent checkouts queue on that row and exactly `limit` of them win.
-- Unlimited offers never touch a counter, so a popular automatic offer does
-- not make every checkout wait on one row. When staff change a limit, the
-- counters are rebuilt from offer_redemptions under the offer's row lock.
CREATE TABLE offer_usage (
    offer_id uuid PRIMARY KEY REFERENCES offers (id),
    uses     integer NOT NULL,
    CONSTRAINT offer_usage_uses_check CHECK (uses >= 0)
);

CREATE TABLE offer_customer_usage (
    offer_id    uuid NOT NULL REFERENCES offers (id),
    customer_id uuid NOT NULL,
    uses        integer NOT NULL,
    PRIMARY KEY (offer_id, customer_id),
    CONSTRAINT offer_customer_usage_uses_check CHECK (uses >= 0)
);
