-- Click & collect (package commerce/pickup). The orders table already holds
-- the pickup columns (0011); this adds what the store's pickup desk needs.
--
-- Numbered 0014, leaving 0013 to the returns work being done alongside.

-- Live queue. Every change of an order bumps its version (and a checkout
-- inserts it), so notifying on that column tells every server instance of
-- every change to a store's pickup queue, at commit. The pickupQueueUpdated
-- subscription LISTENs on 'pickup'; the payload is the location id.
CREATE FUNCTION orders_pickup_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.fulfillment = 'pickup' THEN
        PERFORM pg_notify('pickup', NEW.location_id::text);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER orders_pickup_notify AFTER INSERT OR UPDATE OF version ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_pickup_notify();

-- A store's open pickups, and the expiry job's scan.
CREATE INDEX orders_pickup_open ON orders (location_id, placed_at)
    WHERE fulfillment = 'pickup' AND status IN ('placed', 'preparing', 'ready_for_pickup');

-- The key pickup codes are derived from (HMAC-SHA256 of the order id and
-- its ready time), so that the order's owner can be shown the code again
-- while the orders table holds only its hash. One row, made here with 244
-- random bits (two v4 UUIDs), shared by every server instance.
CREATE TABLE pickup_code_keys (
    id         integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    key        bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO pickup_code_keys (key) VALUES (uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()));
