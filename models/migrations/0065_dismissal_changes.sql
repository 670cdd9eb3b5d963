-- 0065: the history of dismissals. A dismissal row holds how and when a
-- child left now; dismissal_changes keeps every change of it, as
-- attendance_changes keeps the marks': who, when, the old way and time
-- (NULL for the first record), the new, and why (required after the
-- session's day). Dismissals made before this migration get their first
-- record from the row itself.
CREATE TABLE dismissal_changes (
  id {{ID}},
  session_id BIGINT NOT NULL REFERENCES sessions(id),
  student_id BIGINT NOT NULL REFERENCES students(id) ON DELETE CASCADE,
  school_id BIGINT NOT NULL REFERENCES schools(id),
  session_date TEXT NOT NULL,
  old_by TEXT,
  old_at {{TS}},
  new_by TEXT NOT NULL,
  new_at {{TS}} NOT NULL,
  changed_by BIGINT NOT NULL REFERENCES users(id),
  reason TEXT NOT NULL DEFAULT '',
  changed_at {{TS}} NOT NULL
);
CREATE INDEX dismissal_changes_session ON dismissal_changes(session_id, id);

INSERT INTO dismissal_changes (session_id, student_id, school_id, session_date, new_by, new_at, changed_by, changed_at)
  SELECT d.session_id, d.student_id, d.school_id, s.session_date, d.dismissed_by, d.dismissed_at, d.recorded_by, d.created_at
  FROM dismissals d JOIN sessions s ON s.id = d.session_id;
