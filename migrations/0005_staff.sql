-- Staff users and their API tokens (a minimal staff auth: the admin's
-- sign-in with sessions comes later and will reuse staff_users), and the
-- idempotency keys of staff mutations.

CREATE TABLE staff_users (
    id           uuid PRIMARY KEY,
    -- Stored lower-cased so that one person cannot get two accounts by
    -- changing the case of their address.
    email        text NOT NULL,
    name         text NOT NULL,
    role         text NOT NULL,
    -- The stores an associate works in; admins and merchandisers are not
    -- scoped by location.
    location_ids uuid[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- A disabled user keeps their history but no token of theirs works.
    disabled_at  timestamptz,
    CONSTRAINT staff_users_email_key UNIQUE (email),
    CONSTRAINT staff_users_email_check CHECK (email = lower(email) AND email LIKE '_%@_%'),
    CONSTRAINT staff_users_role_check CHECK (role IN ('admin', 'merchandiser', 'associate')),
    CONSTRAINT staff_users_associate_check CHECK (role <> 'associate' OR cardinality(location_ids) > 0)
);

-- Bearer tokens. Only the SHA-256 of a token is stored: the token itself is
-- shown once when issued, and a leaked table grants nothing. Tokens are 256
-- random bits, so a plain hash (no salt, no slow KDF) is enough, and lookups
-- by hash need no constant-time comparison.
CREATE TABLE staff_tokens (
    id           uuid PRIMARY KEY,
    staff_id     uuid NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    -- Updated at most once a minute, so authentication is not a write per request.
    last_used_at timestamptz,
    CONSTRAINT staff_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT staff_tokens_token_hash_check CHECK (octet_length(token_hash) = 32),
    CONSTRAINT staff_tokens_expires_check CHECK (expires_at > created_at)
);
CREATE INDEX staff_tokens_staff_id_idx ON staff_tokens (staff_id);

-- Idempotency keys of staff mutations (productCreate, …): a retry with the
-- same key returns what the first call created instead of doing it again.
-- Keys are per staff user, so two users cannot collide or probe each
-- other's keys, and remember a fingerprint of the request so that reusing a
-- key for a different request is refused rather than silently answered
-- with an unrelated result. Rows older than a day are deleted by the writes
-- that add new ones.
CREATE TABLE staff_idempotency_keys (
    staff_id     uuid NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    key          text NOT NULL,
    operation    text NOT NULL,
    request_hash bytea NOT NULL,
    -- What the first call produced, e.g. the created product's id.
    result_id    uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (staff_id, key),
    CONSTRAINT staff_idempotency_keys_key_check CHECK (length(key) BETWEEN 1 AND 200)
);
