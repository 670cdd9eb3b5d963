-- 0002: parents from WeChat: one-time binding codes, the failures that
-- rate-limit guessing them, and the delivery lease of the outbox.

-- binding_codes are issued by a school admin for one student, shown once,
-- stored as a salted SHA-256 hash, single use, and expire.
CREATE TABLE binding_codes (
  id {{ID}},
  student_id BIGINT NOT NULL REFERENCES students(id) ON DELETE CASCADE,
  school_id BIGINT NOT NULL REFERENCES schools(id),
  code_hash TEXT NOT NULL UNIQUE,
  created_by BIGINT NOT NULL REFERENCES users(id),
  expires_at {{TS}} NOT NULL,
  used_at {{TS}},
  used_by BIGINT REFERENCES users(id),
  created_at {{TS}} NOT NULL
);
CREATE INDEX binding_codes_student ON binding_codes(student_id);

-- binding_failures records each failed POST /me/children, so the rate limit
-- holds across server instances.
CREATE TABLE binding_failures (
  id {{ID}},
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at {{TS}} NOT NULL
);
CREATE INDEX binding_failures_user ON binding_failures(user_id, created_at);

-- lease_until: a row in status 'sending' belongs to the worker that claimed
-- it until then; after that another worker may retry it.
ALTER TABLE outbox ADD COLUMN lease_until {{TS}};

CREATE INDEX users_unionid ON users(unionid);
