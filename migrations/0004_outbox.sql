-- The transactional outbox: a domain change and the work it implies for a
-- consumer (the search indexer, later webhooks and notifications) commit
-- together, so nothing is lost; workers drain it with FOR UPDATE SKIP LOCKED.
CREATE TABLE outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The consumer the row is for, e.g. 'search'.
    queue         text NOT NULL,
    -- What changed, e.g. a product id. Rows of one aggregate are handled by
    -- one worker at a time, so an older state is never pushed after a newer.
    aggregate_id  uuid NOT NULL,
    payload       jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Not before: retries back off by moving it.
    run_at        timestamptz NOT NULL DEFAULT now(),
    attempts      integer NOT NULL DEFAULT 0,
    -- A worker's lease on the row; a worker that dies lets it lapse and
    -- another one takes the row again.
    claimed_until timestamptz,
    last_error    text
);
CREATE INDEX outbox_ready_idx ON outbox (queue, run_at, id);
CREATE INDEX outbox_aggregate_idx ON outbox (queue, aggregate_id);
