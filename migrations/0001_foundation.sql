-- Foundation schema: sales channels, locations, a read-only first slice of the
-- catalog (products, variants, prices) and stock on hand per variant and location.
-- Later areas extend these tables in their own migrations.

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- Locations are stores (which may offer pickup) and warehouses.
CREATE TABLE locations (
    id                  uuid PRIMARY KEY,
    code                text NOT NULL,
    kind                text NOT NULL,
    name                text NOT NULL,
    address_line1       text NOT NULL,
    address_line2       text NOT NULL DEFAULT '',
    city                text NOT NULL,
    postal_code         text NOT NULL,
    region              text NOT NULL DEFAULT '',
    country_code        text NOT NULL,
    latitude            double precision NOT NULL,
    longitude           double precision NOT NULL,
    time_zone           text NOT NULL,
    -- Weekly opening hours: [{"day":1,"opens":"10:00","closes":"19:00"}, ...], day 1 = Monday.
    opening_hours       jsonb NOT NULL DEFAULT '[]',
    pickup_enabled      boolean NOT NULL DEFAULT false,
    pickup_prep_minutes integer NOT NULL DEFAULT 0,
    pickup_hold_days    integer NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT locations_code_key UNIQUE (code),
    CONSTRAINT locations_kind_check CHECK (kind IN ('store', 'warehouse')),
    CONSTRAINT locations_country_code_check CHECK (country_code ~ '^[A-Z]{2}$'),
    CONSTRAINT locations_latitude_check CHECK (latitude BETWEEN -90 AND 90),
    CONSTRAINT locations_longitude_check CHECK (longitude BETWEEN -180 AND 180),
    CONSTRAINT locations_pickup_check CHECK (
        pickup_prep_minutes >= 0 AND pickup_hold_days >= 0
        AND (NOT pickup_enabled OR kind = 'store'))
);

-- A sales channel is what a client speaks as: a web storefront, a mobile app, a
-- kiosk or a POS bound to a store. Clients name it with its publishable key.
CREATE TABLE channels (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL,
    name            text NOT NULL,
    currency_code   text NOT NULL,
    location_id     uuid REFERENCES locations (id),
    publishable_key text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT channels_publishable_key_key UNIQUE (publishable_key),
    CONSTRAINT channels_kind_check CHECK (kind IN ('web', 'mobile', 'kiosk', 'pos')),
    CONSTRAINT channels_currency_code_check CHECK (currency_code ~ '^[A-Z]{3}$'),
    -- A kiosk or a till stands in a store; it must say which.
    CONSTRAINT channels_store_check CHECK (kind NOT IN ('kiosk', 'pos') OR location_id IS NOT NULL)
);

CREATE TABLE products (
    id          uuid PRIMARY KEY,
    handle      text NOT NULL,
    title       text NOT NULL,
    description text NOT NULL DEFAULT '',
    brand       text NOT NULL DEFAULT '',
    product_type text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT 'active',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT products_handle_key UNIQUE (handle),
    CONSTRAINT products_handle_check CHECK (handle ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    CONSTRAINT products_status_check CHECK (status IN ('draft', 'active', 'archived'))
);

CREATE TABLE variants (
    id         uuid PRIMARY KEY,
    product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    sku        text NOT NULL,
    barcode    text NOT NULL DEFAULT '',
    title      text NOT NULL,
    -- Option values in display order: [{"name":"Size","value":"42"}, ...].
    options    jsonb NOT NULL DEFAULT '[]',
    position   integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT variants_sku_key UNIQUE (sku)
);
CREATE INDEX variants_product_id_idx ON variants (product_id, position);
CREATE UNIQUE INDEX variants_barcode_key ON variants (barcode) WHERE barcode <> '';

-- Prices in integer minor units of their currency; never floats.
CREATE TABLE variant_prices (
    variant_id       uuid NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    currency_code    text NOT NULL,
    amount           bigint NOT NULL,
    compare_at_amount bigint,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (variant_id, currency_code),
    CONSTRAINT variant_prices_currency_code_check CHECK (currency_code ~ '^[A-Z]{3}$'),
    CONSTRAINT variant_prices_amount_check CHECK (amount >= 0),
    CONSTRAINT variant_prices_compare_at_check CHECK (compare_at_amount IS NULL OR compare_at_amount > amount)
);

-- Units physically held at a location. Reservations (checkout) subtract from it
-- to give what is available; they come with their own migration.
CREATE TABLE stock_levels (
    variant_id  uuid NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    location_id uuid NOT NULL REFERENCES locations (id),
    on_hand     integer NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (variant_id, location_id),
    CONSTRAINT stock_levels_on_hand_check CHECK (on_hand >= 0)
);
CREATE INDEX stock_levels_location_id_idx ON stock_levels (location_id);
