-- 0060: password logins are locked per (username, client address), and per
-- username only when failures spread over many addresses (login_throttle.go).

-- login_attempts counts the recent failed logins of a username from one
-- client address (an IPv6 client as its /64): after a few free failures,
-- each further one locks that pair for a growing time. Times are Unix
-- milliseconds, compared as integers on both engines.
CREATE TABLE login_attempts (
  username TEXT NOT NULL,
  addr TEXT NOT NULL,
  failures INTEGER NOT NULL,
  locked_until_ms BIGINT NOT NULL DEFAULT 0,
  last_failed_ms BIGINT NOT NULL,
  PRIMARY KEY (username, addr)
);

-- login_failures now counts the addresses that failed on a username within
-- a day, not its failures: the old counts mean something else, and a lock
-- they set would keep the owner out, so they are forgotten.
DELETE FROM login_failures;
ALTER TABLE login_failures RENAME COLUMN failures TO addresses;
