-- 0070: why a session is cancelled. cancel_source is 'calendar' when the
-- term calendar cancelled it (its date became a no-service day, or a
-- make-up day was taken back), '' when a school admin cancelled it by hand.
-- Only the calendar's own cancellations are undone when the calendar gives
-- the date back (models/calendar_sessions.go).
ALTER TABLE sessions ADD COLUMN cancel_source TEXT NOT NULL DEFAULT '';
