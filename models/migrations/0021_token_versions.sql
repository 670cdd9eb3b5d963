-- 0021: revoking a user's access tokens. An access token carries the
-- user's token_version when it was signed; disabling, demoting or moving
-- the user (or logging out everywhere) bumps the version and stamps
-- token_changed_ms (Unix ms), and every instance polls the users changed
-- within an access token's life, so older tokens stop within seconds.
ALTER TABLE users ADD COLUMN token_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN token_changed_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX users_token_changed ON users(token_changed_ms);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);
