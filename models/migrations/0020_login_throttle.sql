-- 0020: password-login throttling shared by every instance.

-- login_failures holds the recent failed password logins of a username
-- (known or not, so a lock reveals nothing): after a few free failures each
-- further one locks the username for a growing time (see LoginBackoff).
-- Times are Unix milliseconds, compared as integers on both engines.
CREATE TABLE login_failures (
  username TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  locked_until_ms BIGINT NOT NULL DEFAULT 0,
  last_failed_ms BIGINT NOT NULL
);

-- rate_windows are fixed one-minute counters keyed by a bucket name
-- ("login:<client address>"): a limit counted here holds across instances.
CREATE TABLE rate_windows (
  bucket TEXT PRIMARY KEY,
  minute BIGINT NOT NULL,
  hits INTEGER NOT NULL
);
