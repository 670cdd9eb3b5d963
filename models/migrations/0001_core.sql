-- 0001: the core of kehou. Written in the dialect-neutral SQL of migrate.go:
-- {{ID}} an auto-increment primary key, {{TS}} a timestamp (stored UTC),
-- {{BLOB}} bytes. Dates are TEXT 'YYYY-MM-DD' on both engines.

CREATE TABLE regions (
  id {{ID}},
  parent_id BIGINT REFERENCES regions(id),
  name TEXT NOT NULL,
  code TEXT NOT NULL UNIQUE,
  -- path is the materialised ancestry "/1/5/9/" (own id last), so a subtree
  -- is one indexed prefix match.
  path TEXT NOT NULL DEFAULT '',
  level INTEGER NOT NULL DEFAULT 1,
  created_at {{TS}} NOT NULL
);
CREATE INDEX regions_path ON regions(path);

CREATE TABLE schools (
  id {{ID}},
  region_id BIGINT NOT NULL REFERENCES regions(id),
  name TEXT NOT NULL,
  code TEXT UNIQUE,
  created_at {{TS}} NOT NULL
);
CREATE INDEX schools_region ON schools(region_id);

CREATE TABLE classes (
  id {{ID}},
  school_id BIGINT NOT NULL REFERENCES schools(id),
  grade INTEGER NOT NULL,
  name TEXT NOT NULL,
  UNIQUE (school_id, grade, name)
);

CREATE TABLE students (
  id {{ID}},
  school_id BIGINT NOT NULL REFERENCES schools(id),
  class_id BIGINT REFERENCES classes(id),
  student_no TEXT NOT NULL,
  name TEXT NOT NULL,
  gender TEXT NOT NULL,
  grade INTEGER NOT NULL,
  class_name TEXT NOT NULL DEFAULT '',
  active BOOLEAN NOT NULL DEFAULT TRUE,
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL,
  UNIQUE (school_id, student_no)
);
CREATE INDEX students_school_grade ON students(school_id, grade);

-- guardians are the guardians a school imported; a parent's WeChat account is
-- linked to a student through parent_students.
CREATE TABLE guardians (
  id {{ID}},
  student_id BIGINT NOT NULL REFERENCES students(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  phone TEXT NOT NULL,
  relationship TEXT NOT NULL DEFAULT '',
  UNIQUE (student_id, phone)
);
CREATE INDEX guardians_phone ON guardians(phone);

CREATE TABLE users (
  id {{ID}},
  role TEXT NOT NULL,
  username TEXT UNIQUE,
  password_hash TEXT NOT NULL DEFAULT '',
  display_name TEXT NOT NULL DEFAULT '',
  school_id BIGINT REFERENCES schools(id),
  region_id BIGINT REFERENCES regions(id),
  openid TEXT UNIQUE,
  unionid TEXT,
  phone TEXT NOT NULL DEFAULT '',
  disabled BOOLEAN NOT NULL DEFAULT FALSE,
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL
);

-- parent_students links a parent user to a child; via is 'phone' or 'code'.
CREATE TABLE parent_students (
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  student_id BIGINT NOT NULL REFERENCES students(id) ON DELETE CASCADE,
  via TEXT NOT NULL,
  created_at {{TS}} NOT NULL,
  PRIMARY KEY (user_id, student_id)
);
CREATE INDEX parent_students_student ON parent_students(student_id);

-- refresh_tokens are opaque, stored as SHA-256 hashes, single use; a family
-- is one login's chain of rotations, revoked whole when a spent one is replayed.
CREATE TABLE refresh_tokens (
  id {{ID}},
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  family TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  expires_at {{TS}} NOT NULL,
  used_at {{TS}},
  revoked_at {{TS}},
  created_at {{TS}} NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family);

CREATE TABLE terms (
  id {{ID}},
  school_id BIGINT NOT NULL REFERENCES schools(id),
  name TEXT NOT NULL,
  starts_on TEXT NOT NULL,
  ends_on TEXT NOT NULL,
  max_clubs INTEGER NOT NULL,
  -- no_service_days is a JSON array of 'YYYY-MM-DD'.
  no_service_days TEXT NOT NULL DEFAULT '[]',
  created_at {{TS}} NOT NULL
);
CREATE INDEX terms_school ON terms(school_id, starts_on);

-- offerings: weekdays and grades are bit masks (bit 1 = Monday / grade 1), and
-- start_min/end_min minutes after midnight Asia/Shanghai, so overlap and
-- eligibility are plain integer tests in SQL. enrolled_count and
-- waitlisted_count are maintained by the enrollment transaction (the seat is
-- taken by a conditional UPDATE on enrolled_count < capacity).
CREATE TABLE offerings (
  id {{ID}},
  school_id BIGINT NOT NULL REFERENCES schools(id),
  term_id BIGINT NOT NULL REFERENCES terms(id),
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  category TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  teacher TEXT NOT NULL DEFAULT '',
  venue TEXT NOT NULL DEFAULT '',
  weekdays INTEGER NOT NULL,
  start_min INTEGER NOT NULL,
  end_min INTEGER NOT NULL,
  capacity INTEGER NOT NULL,
  grades INTEGER NOT NULL,
  fee_fen BIGINT NOT NULL DEFAULT 0,
  mode TEXT NOT NULL DEFAULT 'fcfs',
  waitlist BOOLEAN NOT NULL DEFAULT TRUE,
  enroll_opens_at {{TS}} NOT NULL,
  enroll_closes_at {{TS}} NOT NULL,
  status TEXT NOT NULL DEFAULT 'draft',
  enrolled_count INTEGER NOT NULL DEFAULT 0,
  waitlisted_count INTEGER NOT NULL DEFAULT 0,
  applied_count INTEGER NOT NULL DEFAULT 0,
  drawn_at {{TS}},
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL,
  CHECK (enrolled_count >= 0 AND enrolled_count <= capacity)
);
CREATE INDEX offerings_school_term ON offerings(school_id, term_id, status);

-- enrollments: status enrolled|waitlisted|applied|withdrawn|rejected. At most
-- one live (enrolled/waitlisted/applied) row per student and offering.
CREATE TABLE enrollments (
  id {{ID}},
  student_id BIGINT NOT NULL REFERENCES students(id) ON DELETE CASCADE,
  offering_id BIGINT NOT NULL REFERENCES offerings(id),
  school_id BIGINT NOT NULL REFERENCES schools(id),
  term_id BIGINT NOT NULL REFERENCES terms(id),
  status TEXT NOT NULL,
  waitlist_position INTEGER,
  rank INTEGER NOT NULL DEFAULT 0,
  applied_by BIGINT NOT NULL REFERENCES users(id),
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL,
  withdrawn_by BIGINT REFERENCES users(id),
  withdrawn_at {{TS}}
);
CREATE UNIQUE INDEX enrollments_live ON enrollments(student_id, offering_id)
  WHERE status IN ('enrolled', 'waitlisted', 'applied');
CREATE INDEX enrollments_offering_status ON enrollments(offering_id, status, waitlist_position);
CREATE INDEX enrollments_student_term ON enrollments(student_id, term_id, status);
CREATE INDEX enrollments_school_term ON enrollments(school_id, term_id, status);

CREATE TABLE attendance (
  id {{ID}},
  offering_id BIGINT NOT NULL REFERENCES offerings(id),
  student_id BIGINT NOT NULL REFERENCES students(id) ON DELETE CASCADE,
  school_id BIGINT NOT NULL REFERENCES schools(id),
  session_date TEXT NOT NULL,
  status TEXT NOT NULL,
  recorded_by BIGINT REFERENCES users(id),
  created_at {{TS}} NOT NULL,
  UNIQUE (offering_id, student_id, session_date)
);
CREATE INDEX attendance_school_date ON attendance(school_id, session_date);

-- outbox holds notifications written in the same transaction as the event
-- that causes them; a worker delivers them. dedupe_key makes an event
-- enqueue at most once.
CREATE TABLE outbox (
  id {{ID}},
  kind TEXT NOT NULL,
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  student_id BIGINT,
  dedupe_key TEXT NOT NULL UNIQUE,
  payload TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at {{TS}} NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  created_at {{TS}} NOT NULL,
  sent_at {{TS}}
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);

-- staff_access_log records staff reads of children's data (PIPL).
CREATE TABLE staff_access_log (
  id {{ID}},
  user_id BIGINT NOT NULL,
  action TEXT NOT NULL,
  school_id BIGINT,
  object TEXT NOT NULL DEFAULT '',
  created_at {{TS}} NOT NULL
);
