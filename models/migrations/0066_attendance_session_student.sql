-- 0066: a roll reads each child's mark by (session_id, student_id)
-- (rollStudents' LEFT JOIN). With only attendance_session (session_id)
-- SQLite scanned the session's marks once per child: a roll of 250 children
-- read 62,500 rows, and every mark, dismissal and roll read paid it (half
-- the demo seed's time). The new index serves both lookups, so the old one
-- goes.
CREATE INDEX attendance_session_student ON attendance(session_id, student_id);
DROP INDEX attendance_session;
