-- 0004: surveys, scheduled jobs and statistics snapshots.

-- surveys are published by a bureau (region_id: its whole subtree) or by a
-- school (school_id), exactly one of the two. opens_on is the opening date in
-- Asia/Shanghai, kept so the stats job can match a survey to a term in SQL.
CREATE TABLE surveys (
  id {{ID}},
  region_id BIGINT REFERENCES regions(id),
  school_id BIGINT REFERENCES schools(id),
  term_id BIGINT REFERENCES terms(id),
  title TEXT NOT NULL,
  opens_at {{TS}} NOT NULL,
  closes_at {{TS}} NOT NULL,
  opens_on TEXT NOT NULL,
  created_by BIGINT NOT NULL REFERENCES users(id),
  created_at {{TS}} NOT NULL,
  CHECK ((region_id IS NULL AND school_id IS NOT NULL) OR (region_id IS NOT NULL AND school_id IS NULL)),
  CHECK (closes_at > opens_at)
);
CREATE INDEX surveys_region ON surveys(region_id);
CREATE INDEX surveys_school ON surveys(school_id);
CREATE INDEX surveys_closes ON surveys(closes_at);

-- survey_responses: one per student per survey, given by a linked guardian.
-- comment is free text: it never reaches a dashboard with the child's identity.
CREATE TABLE survey_responses (
  id {{ID}},
  survey_id BIGINT NOT NULL REFERENCES surveys(id),
  student_id BIGINT NOT NULL REFERENCES students(id) ON DELETE CASCADE,
  school_id BIGINT NOT NULL REFERENCES schools(id),
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  support TEXT NOT NULL,
  satisfaction TEXT NOT NULL,
  comment TEXT NOT NULL DEFAULT '',
  created_at {{TS}} NOT NULL,
  UNIQUE (survey_id, student_id)
);
CREATE INDEX survey_responses_school ON survey_responses(school_id, survey_id);

-- job_runs records every run of a job: trigger scheduled|manual, status
-- running|succeeded|failed|skipped, rows written.
CREATE TABLE job_runs (
  id {{ID}},
  name TEXT NOT NULL,
  trigger TEXT NOT NULL,
  instance TEXT NOT NULL,
  slot TEXT NOT NULL DEFAULT '',
  started_at {{TS}} NOT NULL,
  ended_at {{TS}},
  status TEXT NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  rows_written BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX job_runs_name_started ON job_runs(name, started_at);
CREATE INDEX job_runs_started ON job_runs(started_at);

-- job_slots makes a scheduled run happen once per schedule across instances:
-- every instance inserts (name, slot) with ON CONFLICT DO NOTHING and only the
-- one whose insert took effect runs the job.
CREATE TABLE job_slots (
  name TEXT NOT NULL,
  slot TEXT NOT NULL,
  instance TEXT NOT NULL,
  claimed_at {{TS}} NOT NULL,
  PRIMARY KEY (name, slot)
);

-- job_locks is the lease that keeps a job from running twice at once on
-- SQLite (PostgreSQL uses pg_try_advisory_lock instead); an expired lease
-- (a crashed holder) may be taken over.
CREATE TABLE job_locks (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at {{TS}} NOT NULL
);

-- stat_snapshots holds the daily statistics: one row per date and scope
-- (region or school), grade (0 = all grades) and club category ('' = all).
-- Only counts are stored; rates are derived from them when read, so a rate
-- can never disagree with its numerator and denominator.
CREATE TABLE stat_snapshots (
  scope_type TEXT NOT NULL,
  scope_id BIGINT NOT NULL,
  grade INTEGER NOT NULL DEFAULT 0,
  category TEXT NOT NULL DEFAULT '',
  snap_date TEXT NOT NULL,
  students BIGINT NOT NULL DEFAULT 0,
  participants BIGINT NOT NULL DEFAULT 0,
  basic_participants BIGINT NOT NULL DEFAULT 0,
  club_participants BIGINT NOT NULL DEFAULT 0,
  schools BIGINT NOT NULL DEFAULT 0,
  schools_offering BIGINT NOT NULL DEFAULT 0,
  schools_5plus2 BIGINT NOT NULL DEFAULT 0,
  clubs BIGINT NOT NULL DEFAULT 0,
  seats BIGINT NOT NULL DEFAULT 0,
  seats_filled BIGINT NOT NULL DEFAULT 0,
  waitlisted BIGINT NOT NULL DEFAULT 0,
  responses BIGINT NOT NULL DEFAULT 0,
  supporters BIGINT NOT NULL DEFAULT 0,
  satisfied BIGINT NOT NULL DEFAULT 0,
  attended BIGINT NOT NULL DEFAULT 0,
  attendance_marked BIGINT NOT NULL DEFAULT 0,
  computed_at {{TS}} NOT NULL,
  PRIMARY KEY (scope_type, scope_id, grade, category, snap_date)
);
CREATE INDEX stat_snapshots_date ON stat_snapshots(snap_date);

-- Indexes the stats job needs: the active students of each school and grade,
-- the terms containing a date, and attendance by school and date.
CREATE INDEX students_active_school_grade ON students(active, school_id, grade);
CREATE INDEX terms_dates ON terms(starts_on, ends_on);
-- (status, student_id, offering_id) answers "the enrolled enrollments of
-- every student" in student order from the index alone.
CREATE INDEX enrollments_status_student ON enrollments(status, student_id, offering_id);
