-- Customer accounts (email + password), their sign-in sessions, and the
-- generic rate-limit counters that protect sign-in (and, later, cart
-- handoff codes) against guessing.

CREATE TABLE customers (
    id            uuid PRIMARY KEY,
    -- Stored trimmed and lower-cased, and unique whatever the case, so that
    -- one shopper cannot end up with two accounts (and two carts) by typing
    -- their address differently on the phone and at the kiosk.
    email         text NOT NULL,
    name          text NOT NULL,
    -- An argon2id hash in the PHC string format
    -- ($argon2id$v=19$m=…,t=…,p=…$salt$hash): it carries its own parameters
    -- and salt, so the parameters can be raised later without a migration.
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT customers_email_check CHECK (email = lower(email) AND email LIKE '_%@_%'),
    CONSTRAINT customers_password_hash_check CHECK (password_hash LIKE '$argon2id$%')
);
CREATE UNIQUE INDEX customers_email_key ON customers (lower(email));

-- Sign-in sessions: the bearer tokens ("ct_…") a storefront, an app or a
-- kiosk sends for a signed-in customer. As with staff tokens only the
-- SHA-256 of the token is stored: tokens are 256 random bits, so a plain
-- hash is enough and a copy of the table lets nobody in.
CREATE TABLE customer_sessions (
    id           uuid PRIMARY KEY,
    customer_id  uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL,
    -- The channel the customer signed in on (null when the request named
    -- none), so cross-channel journeys are visible from the first step.
    channel_id   uuid REFERENCES channels (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    -- Set by sign-out; a revoked session never works again.
    revoked_at   timestamptz,
    -- Updated at most once a minute, so authentication is not a write per request.
    last_used_at timestamptz,
    CONSTRAINT customer_sessions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT customer_sessions_token_hash_check CHECK (octet_length(token_hash) = 32),
    CONSTRAINT customer_sessions_expires_check CHECK (expires_at > created_at)
);
CREATE INDEX customer_sessions_customer_id_idx ON customer_sessions (customer_id);

-- Fixed-window attempt counters (commerce/ratelimit), shared by every
-- server instance. One row per (scope, key): the scope names what is
-- limited ("customer.sign_in.email", "cart.resume.client", …), the key whom
-- (an email, a client address), stored as its SHA-256 so that the table
-- holds no email or IP address in clear. A counter is taken and bumped by
-- one atomic upsert; rows whose window has ended are pruned by the limiter.
CREATE TABLE rate_limits (
    scope        text NOT NULL,
    key_hash     bytea NOT NULL,
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL,
    count        integer NOT NULL,
    PRIMARY KEY (scope, key_hash),
    CONSTRAINT rate_limits_key_hash_check CHECK (octet_length(key_hash) = 32),
    CONSTRAINT rate_limits_window_check CHECK (window_end > window_start),
    CONSTRAINT rate_limits_count_check CHECK (count >= 0)
);
CREATE INDEX rate_limits_window_end_idx ON rate_limits (window_end);
