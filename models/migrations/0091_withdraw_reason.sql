-- 0091: why an enrollment was withdrawn, so a family can tell the school's
-- cancellation of a club from its own withdrawal: parent, school,
-- offering_cancelled (and, with fees, unpaid). Existing rows are given the
-- reason their facts imply.
ALTER TABLE enrollments ADD COLUMN withdraw_reason TEXT;
UPDATE enrollments SET withdraw_reason = CASE
  WHEN EXISTS (SELECT 1 FROM offerings o WHERE o.id = enrollments.offering_id AND o.status = 'cancelled') THEN 'offering_cancelled'
  WHEN EXISTS (SELECT 1 FROM users u WHERE u.id = enrollments.withdrawn_by AND u.role = 'parent') THEN 'parent'
  ELSE 'school' END
WHERE status = 'withdrawn';
