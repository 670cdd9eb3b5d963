-- 0022: accounts made by another user set their own password at first
-- login; who made an account is recorded; the staff access log names the
-- request and the client address.
ALTER TABLE users ADD COLUMN created_by BIGINT REFERENCES users(id);
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN password_changed_at {{TS}};

-- password_change_tokens are the short-lived, single-use proofs a login
-- answers with instead of tokens while the password must be changed
-- (stored as SHA-256 hashes; times in Unix ms).
CREATE TABLE password_change_tokens (
  token_hash TEXT PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  expires_ms BIGINT NOT NULL,
  used_ms BIGINT
);
CREATE INDEX password_change_tokens_user ON password_change_tokens(user_id);

ALTER TABLE staff_access_log ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
ALTER TABLE staff_access_log ADD COLUMN client_addr TEXT NOT NULL DEFAULT '';
