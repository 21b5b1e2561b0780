-- Shipping (package commerce/order, ship.go) and the currency of a location.

-- A shipment: what staff record when a shipping order leaves its origin.
ALTER TABLE orders
    ADD COLUMN carrier         text,
    ADD COLUMN tracking_number text,
    ADD COLUMN shipped_at      timestamptz,
    ADD CONSTRAINT orders_carrier_check CHECK (carrier IS NULL OR length(carrier) BETWEEN 1 AND 100),
    ADD CONSTRAINT orders_tracking_number_check CHECK (tracking_number IS NULL OR length(tracking_number) BETWEEN 1 AND 200),
    ADD CONSTRAINT orders_shipment_check CHECK (shipped_at IS NULL OR fulfillment = 'shipping');

-- The currency a location sells, takes at its till and refunds in: an
-- order is fulfilled, and a return received, only by a location of the
-- order's currency. Backfilled from the country; a country not listed here
-- stops the migration rather than guess.
ALTER TABLE locations ADD COLUMN currency_code text;
UPDATE locations SET currency_code = CASE country_code
    WHEN 'CA' THEN 'CAD'
    WHEN 'US' THEN 'USD'
    WHEN 'GB' THEN 'GBP'
    WHEN 'CH' THEN 'CHF'
    WHEN 'FR' THEN 'EUR' WHEN 'BE' THEN 'EUR' WHEN 'DE' THEN 'EUR' WHEN 'ES' THEN 'EUR'
    WHEN 'IT' THEN 'EUR' WHEN 'NL' THEN 'EUR' WHEN 'LU' THEN 'EUR' WHEN 'PT' THEN 'EUR'
    WHEN 'AT' THEN 'EUR' WHEN 'IE' THEN 'EUR' WHEN 'FI' THEN 'EUR' WHEN 'MC' THEN 'EUR'
END;
ALTER TABLE locations
    ALTER COLUMN currency_code SET NOT NULL,
    ADD CONSTRAINT locations_currency_code_check CHECK (currency_code ~ '^[A-Z]{3}$');
