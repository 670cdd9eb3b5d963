-- 0180: teacher participation in the stats job (t_tmark) asks, teacher by
-- teacher, whether each changed a mark in the term. attendance_changes_school
-- now leads with the teacher after the school, so the question is one seek,
-- also for a teacher who never marks (most of a school's teachers take no
-- after-school roll; on the date-first index each of them read the school's
-- whole term of changes: 300 such teachers made a run 111 ms, now 1 ms). No
-- other query reads attendance_changes by school; the index is replaced, not
-- added, so a mark still maintains as many indexes. (0170 shipped before
-- this was found, so it is a migration of its own, not an edit of 0170.)
DROP INDEX attendance_changes_school;
CREATE INDEX attendance_changes_school ON attendance_changes(school_id, changed_by, session_date);
