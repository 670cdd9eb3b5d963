-- 0110: fewer index entries for a rush to write, none less to read with.
-- A seat in a free club (most of a rush) has no hold: enrollments_holds
-- keeps only the rows that have one (the holds job and the pay job ask for
-- hold_expires_at <= now, which implies it is set). The batch prices a seat
-- from its offering's sessions less the cancelled ones: sessions_cancelled
-- holds only those, so the batch does not walk every session of a club.
DROP INDEX enrollments_holds;
CREATE INDEX enrollments_holds ON enrollments(status, hold_expires_at) WHERE hold_expires_at IS NOT NULL;
CREATE INDEX sessions_cancelled ON sessions(offering_id, session_date) WHERE status = 'cancelled';
