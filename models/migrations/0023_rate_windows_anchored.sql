-- A rate window opens at its bucket's first hit and lasts 60 seconds
-- (opened_at, Unix seconds), instead of following the clock's minutes: a
-- burst is then counted whole wherever a minute boundary falls.
ALTER TABLE rate_windows RENAME COLUMN minute TO opened_at;
UPDATE rate_windows SET opened_at = opened_at * 60;
