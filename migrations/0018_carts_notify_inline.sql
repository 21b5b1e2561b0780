-- The cart trigger asks live_watches itself instead of calling
-- live_watched (0016): every cart change fires it, and the nested plpgsql
-- call was most of its cost, ~3 % of Postgres's CPU per cart add, on the
-- path every grouped add waits its turn on (docs/performance.md, issue 4).
-- Same query, same snapshot rule as live_watched: see there.
CREATE OR REPLACE FUNCTION carts_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM live_watches w
            WHERE w.channel = 'cart' AND w.id = NEW.id AND w.expires_at > now()) THEN
        PERFORM pg_notify('cart', NEW.id::text);
    END IF;
    RETURN NULL;
END
$$;
