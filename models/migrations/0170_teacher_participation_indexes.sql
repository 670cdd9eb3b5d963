-- 0170: teacher participation in the stats job (t_tch, t_tmark). Each night
-- it lists a school's enabled teachers, then asks, teacher by teacher,
-- whether each changed a mark in the term.
--   users_role_school: without an index on role every run read every
--   account, parents included (a county's tens of thousands).
--   attendance_changes_school now leads with the teacher after the school,
--   so the question is one seek, also for a teacher who never marks (most
--   of a school's teachers take no after-school roll; on the date-first
--   index each of them read the school's whole term of changes). No other
--   query reads attendance_changes by school; the index is replaced, not
--   added, so a mark still maintains as many indexes.
CREATE INDEX users_role_school ON users(role, school_id, disabled);
DROP INDEX attendance_changes_school;
CREATE INDEX attendance_changes_school ON attendance_changes(school_id, changed_by, session_date);
