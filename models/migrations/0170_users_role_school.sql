-- 0170: the stats job lists a school's enabled teachers each night (t_tch)
-- and asks, teacher by teacher, whether each changed a mark in the term
-- (t_tmark). Without an index on role every run read every account,
-- parents included (a county's tens of thousands; the demo's 3,000 were a
-- tenth of a run).
CREATE INDEX users_role_school ON users(role, school_id, disabled);
