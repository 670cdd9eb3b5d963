-- 0062: a database loaded by `kehou seed demo` says so, and a production
-- server refuses to serve it: its demo accounts share a published password.
-- seed_marks holds one row per kind of seed ('demo'), written before the
-- seed loads anything (Unix ms).
CREATE TABLE seed_marks (
  kind TEXT PRIMARY KEY,
  seeded_ms BIGINT NOT NULL
);

-- A database seeded before this migration is recognised by the demo's
-- staff accounts.
INSERT INTO seed_marks (kind, seeded_ms)
SELECT 'demo', 0 WHERE EXISTS (SELECT 1 FROM users
  WHERE username IN ('demo_platform', 'demo_city', 'demo_bureau', 'demo_school', 'demo_teacher'));
