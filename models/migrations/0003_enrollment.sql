-- 0003: enrollment support. Idempotency keys for POST /enrollments and the
-- audit record of every lottery draw.

-- idempotency_keys remembers the answer to a POST made with an
-- Idempotency-Key header, per user, written in the same transaction as the
-- enrollment it created. status is the HTTP status of that answer and body
-- its JSON; request_hash tells a retry (same body) from a reuse (other body).
CREATE TABLE idempotency_keys (
  user_id BIGINT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status INTEGER NOT NULL,
  body TEXT NOT NULL,
  created_at {{TS}} NOT NULL,
  expires_at {{TS}} NOT NULL,
  PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys(expires_at);

-- lottery_draws records each draw: the seed, the random order of applicants
-- and every result (detail is JSON: offerings with their seats, the order,
-- and per applicant the offering won or none), so anyone can re-run the draw
-- from the seed and the applications and check the result.
CREATE TABLE lottery_draws (
  id {{ID}},
  school_id BIGINT NOT NULL REFERENCES schools(id),
  term_id BIGINT NOT NULL REFERENCES terms(id),
  seed TEXT NOT NULL,
  run_by BIGINT,
  assigned INTEGER NOT NULL DEFAULT 0,
  rejected INTEGER NOT NULL DEFAULT 0,
  detail TEXT NOT NULL DEFAULT '{}',
  created_at {{TS}} NOT NULL
);
CREATE INDEX lottery_draws_term ON lottery_draws(school_id, term_id);

-- draw_id links an offering to the draw that settled it.
ALTER TABLE offerings ADD COLUMN draw_id BIGINT;

-- Due lotteries are found by mode and window close.
CREATE INDEX offerings_lottery_due ON offerings(mode, drawn_at, enroll_closes_at);
