-- A cart add is all or nothing in one statement (commerce/cart addSQL), so
-- that it can commit in the same round trip as it runs. When a line it
-- raises was raised meanwhile beyond the stock, the statement fails with
-- this error instead of writing part of the add; the service then tries the
-- add again on a fresh snapshot, which refuses it with the right message.
CREATE FUNCTION cart_add_raced() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a line of the cart was raised meanwhile beyond the stock' USING ERRCODE = 'OC001';
END
$$;
