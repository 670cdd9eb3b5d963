-- 0081: the payment hold. pending_payment is a live status (a seat held
-- until hold_expires_at), so the partial unique index of rule 2 is made
-- again with it. held_at is when a seat was held, enrolled_at when it
-- became enrolled (the roll reads it: a payment must not move a child's
-- "enrolled since"); unpaid_release marks a seat given up because its hold
-- expired unpaid (withdrawn, reason unpaid; the parents' withdraw_reason,
-- when it lands, can say the same).
DROP INDEX enrollments_live;
CREATE UNIQUE INDEX enrollments_live ON enrollments(student_id, offering_id)
  WHERE status IN ('enrolled', 'pending_payment', 'waitlisted', 'applied');
ALTER TABLE enrollments ADD COLUMN held_at {{TS}};
ALTER TABLE enrollments ADD COLUMN hold_expires_at {{TS}};
ALTER TABLE enrollments ADD COLUMN enrolled_at {{TS}};
ALTER TABLE enrollments ADD COLUMN unpaid_release BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX enrollments_holds ON enrollments(status, hold_expires_at);
