-- 0090: WeChat subscribe-message consent, counted per parent and template as
-- WeChat counts it (docs/wechat.md): one_time is the one-time acceptances
-- not yet spent (each allows one message), long_term a long-term
-- subscription (every message until it is turned off). The mini-program
-- reports what the parent accepted or rejected (POST /api/v1/me/subscriptions);
-- the outbox spends one acceptance per message it sends.
CREATE TABLE wechat_consents (
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  template_id TEXT NOT NULL,
  one_time INTEGER NOT NULL DEFAULT 0 CHECK (one_time >= 0),
  long_term BOOLEAN NOT NULL DEFAULT FALSE,
  updated_at {{TS}} NOT NULL,
  PRIMARY KEY (user_id, template_id)
);

-- The parent's inbox reads their own messages, newest first.
CREATE INDEX outbox_user ON outbox(user_id, id);
