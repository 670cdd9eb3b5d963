-- 0010: the daily loop. The term calendar's make-up days, the teacher who
-- takes an offering's roll, generated sessions, the roll and its audit
-- trail, leave requests, dismissals, and the statistics read from them.

-- extra_days is a JSON array of {"date": "YYYY-MM-DD", "as_weekday": 1-5}:
-- make-up school days (weekend dates) that run another weekday's timetable.
ALTER TABLE terms ADD COLUMN extra_days TEXT NOT NULL DEFAULT '[]';

-- teacher_user_id names the teacher (a user of the school) who takes the
-- roll; the free-text teacher column stays for display.
ALTER TABLE offerings ADD COLUMN teacher_user_id BIGINT REFERENCES users(id);
CREATE INDEX offerings_teacher ON offerings(teacher_user_id);

-- sessions are the meetings of an offering, one per teaching date, generated
-- from its weekdays and the term's calendar (never typed in). start_min and
-- end_min are copied from the offering so a later change of its times leaves
-- past sessions as they were.
CREATE TABLE sessions (
  id {{ID}},
  offering_id BIGINT NOT NULL REFERENCES offerings(id),
  school_id BIGINT NOT NULL REFERENCES schools(id),
  term_id BIGINT NOT NULL REFERENCES terms(id),
  session_date TEXT NOT NULL,
  start_min INTEGER NOT NULL,
  end_min INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'scheduled',
  cancel_reason TEXT NOT NULL DEFAULT '',
  cancelled_by BIGINT REFERENCES users(id),
  cancelled_at {{TS}},
  roll_taken_at {{TS}},
  created_at {{TS}} NOT NULL,
  UNIQUE (offering_id, session_date)
);
CREATE INDEX sessions_school_date ON sessions(school_id, session_date);
CREATE INDEX sessions_term_date ON sessions(term_id, session_date);

-- attendance (from 0001) holds one mark per session and student; session_id
-- links it to its session (the unique (offering_id, student_id,
-- session_date) of 0001 is the same key, since a session is one offering on
-- one date).
ALTER TABLE attendance ADD COLUMN session_id BIGINT REFERENCES sessions(id);
ALTER TABLE attendance ADD COLUMN updated_at {{TS}};
CREATE INDEX attendance_session ON attendance(session_id);

-- attendance_changes is the audit trail of the roll: every change of a mark
-- (old_status NULL for the first mark), who made it, when, and why (the
-- reason a school admin gives for a correction after the day).
CREATE TABLE attendance_changes (
  id {{ID}},
  session_id BIGINT NOT NULL REFERENCES sessions(id),
  student_id BIGINT NOT NULL REFERENCES students(id) ON DELETE CASCADE,
  school_id BIGINT NOT NULL REFERENCES schools(id),
  session_date TEXT NOT NULL,
  old_status TEXT,
  new_status TEXT NOT NULL,
  changed_by BIGINT NOT NULL REFERENCES users(id),
  reason TEXT NOT NULL DEFAULT '',
  changed_at {{TS}} NOT NULL
);
CREATE INDEX attendance_changes_session ON attendance_changes(session_id, id);
CREATE INDEX attendance_changes_school ON attendance_changes(school_id, session_date, changed_by);

-- leave_requests are filed by a guardian for a child: whole days from
-- from_date to to_date, for the offerings listed in offering_ids (a JSON
-- array; empty means every offering). status active|cancelled. filed_by is
-- the parent who filed it (NULL once that account is gone: the record stays
-- with the child).
CREATE TABLE leave_requests (
  id {{ID}},
  student_id BIGINT NOT NULL REFERENCES students(id) ON DELETE CASCADE,
  school_id BIGINT NOT NULL REFERENCES schools(id),
  from_date TEXT NOT NULL,
  to_date TEXT NOT NULL,
  offering_ids TEXT NOT NULL DEFAULT '[]',
  reason TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'active',
  filed_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
  created_at {{TS}} NOT NULL,
  cancelled_at {{TS}}
);
CREATE INDEX leave_requests_student ON leave_requests(student_id, status, from_date);

-- dismissals record how and when each child left after a session:
-- by guardian|self|bus|other.
CREATE TABLE dismissals (
  id {{ID}},
  session_id BIGINT NOT NULL REFERENCES sessions(id),
  student_id BIGINT NOT NULL REFERENCES students(id) ON DELETE CASCADE,
  school_id BIGINT NOT NULL REFERENCES schools(id),
  dismissed_by TEXT NOT NULL,
  dismissed_at {{TS}} NOT NULL,
  recorded_by BIGINT NOT NULL REFERENCES users(id),
  created_at {{TS}} NOT NULL,
  UNIQUE (session_id, student_id)
);

-- The statistics of the daily loop, as counts (rates are derived on read):
-- five_day (basic participants enrolled on all five weekdays), teachers and
-- teachers_marking (teachers of the scope, and those who marked a roll in
-- the term), sessions_held and sessions_cancelled.
ALTER TABLE stat_snapshots ADD COLUMN five_day BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stat_snapshots ADD COLUMN teachers BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stat_snapshots ADD COLUMN teachers_marking BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stat_snapshots ADD COLUMN sessions_held BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stat_snapshots ADD COLUMN sessions_cancelled BIGINT NOT NULL DEFAULT 0;
