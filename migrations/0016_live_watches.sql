-- Live notifications only for what someone watches (commerce/internal/listen).
--
-- The cart and pickup triggers notified at every change. A transaction that
-- notifies takes a database-wide lock at commit and holds it through its WAL
-- flush, and every listening server wakes for every notification: under a
-- load of cart adds that cost a quarter of Postgres's CPU per add, for carts
-- nobody had open (docs/performance.md, issue 4). Now a server records what
-- its subscribers watch here, and the triggers notify only for a watched id.
--
-- A row is one server instance watching one id of one channel. The instance
-- refreshes its rows while it has watchers and lets them expire when it has
-- none (or dies); an expired row is ignored and deleted later. Unlogged: the
-- rows are worth nothing after a crash (the table is then emptied) and the
-- servers write them again at their next refresh.
CREATE UNLOGGED TABLE live_watches (
    channel    text NOT NULL,
    id         uuid NOT NULL,
    instance   uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (channel, id, instance)
);

-- Whether some server watches id on channel. The triggers below are plpgsql,
-- so this query takes a new snapshot when it runs (at the end of the
-- statement that changed the row, with the row locked): it sees every watch
-- committed before. listen.Hub.Subscribe covers the changes whose trigger
-- ran just before a watch was committed.
--
-- plpgsql, not sql: a sql function called from a trigger is planned anew at
-- every call (7 % of the machine's CPU under cart adds), while plpgsql keeps
-- its query's plan for the session.
CREATE FUNCTION live_watched(channel text, id uuid) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM live_watches w
        WHERE w.channel = live_watched.channel AND w.id = live_watched.id AND w.expires_at > now());
END
$$;

CREATE OR REPLACE FUNCTION carts_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF live_watched('cart', NEW.id) THEN
        PERFORM pg_notify('cart', NEW.id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION orders_pickup_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.fulfillment = 'pickup' AND live_watched('pickup', NEW.location_id) THEN
        PERFORM pg_notify('pickup', NEW.location_id::text);
    END IF;
    RETURN NULL;
END
$$;
