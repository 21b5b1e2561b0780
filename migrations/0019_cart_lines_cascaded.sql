-- A variant deleted from the catalog is taken out of every cart that holds
-- it (cart_lines' ON DELETE CASCADE, 0008), and so is every variant of a
-- deleted product. That changes those carts, so their version must grow as
-- at any other change: a device that sends ifVersion must get CONFLICT
-- rather than change a cart it has not seen, and the devices watching the
-- cart must be told (carts_notify fires on the version).
--
-- The cart's own changes bump the version themselves, in the statement that
-- deletes its lines. A delete that comes from another table's cascade runs
-- inside that foreign key's trigger, where pg_trigger_depth() is above 0:
-- only those are bumped here, once per cart and cascaded statement.
CREATE FUNCTION cart_lines_cascaded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE carts c SET version = c.version + 1, updated_at = now()
    WHERE c.id IN (SELECT g.cart_id FROM gone g);
    RETURN NULL;
END
$$;

CREATE TRIGGER cart_lines_cascaded AFTER DELETE ON cart_lines
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT WHEN (pg_trigger_depth() > 0)
    EXECUTE FUNCTION cart_lines_cascaded();
