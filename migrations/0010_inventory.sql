-- Inventory: reservations, the stock ledger and the ERP stock feed.
--
-- available = greatest(on_hand - reserved, 0), the same number on every
-- channel. reserved may exceed on_hand when shrinkage is recorded below what
-- is promised: then nothing new can be reserved until stock comes back.
ALTER TABLE stock_levels
    ADD COLUMN reserved integer NOT NULL DEFAULT 0,
    -- Available at or below this raises inventory.low_stock; NULL means the
    -- default (inventory.DefaultLowStockThreshold, 2).
    ADD COLUMN low_stock_threshold integer,
    ADD CONSTRAINT stock_levels_reserved_check CHECK (reserved >= 0),
    ADD CONSTRAINT stock_levels_low_stock_threshold_check CHECK (low_stock_threshold >= 0);

-- Units promised to an order at one location. reserved (unpaid, expires) →
-- allocated (paid, no expiry) → fulfilled (the goods left); or → released.
CREATE TABLE stock_reservations (
    id          uuid PRIMARY KEY,
    -- The orders migration adds the foreign key.
    order_id    uuid NOT NULL,
    variant_id  uuid NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    location_id uuid NOT NULL REFERENCES locations (id),
    quantity    integer NOT NULL,
    status      text NOT NULL,
    -- When an unpaid reservation lapses; NULL once allocated.
    expires_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stock_reservations_order_variant_location_key UNIQUE (order_id, variant_id, location_id),
    CONSTRAINT stock_reservations_quantity_check CHECK (quantity > 0),
    CONSTRAINT stock_reservations_status_check CHECK (status IN ('reserved', 'allocated', 'released', 'fulfilled'))
);
CREATE INDEX stock_reservations_expiry_idx ON stock_reservations (expires_at) WHERE status = 'reserved';
CREATE INDEX stock_reservations_variant_location_idx ON stock_reservations (variant_id, location_id);

-- The ledger: every change of on_hand or reserved, with who and why.
-- Append-only: rows are never updated (a trigger refuses it).
CREATE TABLE stock_movements (
    id             uuid PRIMARY KEY,
    variant_id     uuid NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    location_id    uuid NOT NULL REFERENCES locations (id),
    kind           text NOT NULL,
    on_hand_delta  integer NOT NULL,
    reserved_delta integer NOT NULL,
    -- The level after the change, so the ledger reads without replaying it.
    on_hand_after  integer NOT NULL,
    reserved_after integer NOT NULL,
    reason         text NOT NULL DEFAULT '',
    staff_id       uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    order_id       uuid,
    feed_key       text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stock_movements_kind_check CHECK (kind IN ('received', 'sold', 'adjusted', 'returned',
        'reserved', 'released', 'allocated', 'fulfilled', 'feed'))
);
CREATE INDEX stock_movements_variant_location_idx ON stock_movements (variant_id, location_id, created_at);
CREATE INDEX stock_movements_created_idx ON stock_movements (created_at, id);
CREATE INDEX stock_movements_order_idx ON stock_movements (order_id) WHERE order_id IS NOT NULL;

CREATE FUNCTION stock_movements_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'stock_movements is append-only';
END $$;
CREATE TRIGGER stock_movements_no_update BEFORE UPDATE ON stock_movements
    FOR EACH ROW EXECUTE FUNCTION stock_movements_append_only();

-- Lines of the ERP stock feed already applied, by the key the ERP gave each
-- line: a line sent again is skipped, never applied twice.
CREATE TABLE stock_feed_lines (
    key         text PRIMARY KEY,
    variant_id  uuid NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    location_id uuid NOT NULL REFERENCES locations (id),
    on_hand     integer NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stock_feed_lines_key_check CHECK (key <> '' AND length(key) <= 200)
);
