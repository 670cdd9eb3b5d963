-- write_probe stays empty: /readyz, while the database is marked full
-- (models/storage.go), inserts a row big enough to need new pages and rolls
-- it back, to learn whether writes succeed again.
CREATE TABLE write_probe (
  id {{ID}},
  filler {{BLOB}} NOT NULL
);
