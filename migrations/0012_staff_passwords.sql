-- Staff passwords and interactive sessions: an associate signs in at the
-- pickup desk (and, later, in the admin) with an email and a password
-- instead of pasting a token the operator issued.

-- An argon2id hash in the PHC string format, as for customers (see
-- commerce/internal/password). Null: the user has no password and cannot
-- sign in; their operator-issued tokens work as before.
ALTER TABLE staff_users ADD COLUMN password_hash text;
ALTER TABLE staff_users ADD CONSTRAINT staff_users_password_hash_check
    CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%');

-- What a token was issued for: 'api' by the operator (`omnicanal staff
-- token`, for a POS, a feed, a script), 'session' by a password sign-in.
-- Both authenticate the same way; sessions live shorter, and setting a new
-- password revokes the user's sessions (not their API tokens), so whoever
-- signed in with the old password is out.
ALTER TABLE staff_tokens ADD COLUMN kind text NOT NULL DEFAULT 'api';
ALTER TABLE staff_tokens ADD CONSTRAINT staff_tokens_kind_check CHECK (kind IN ('api', 'session'));
