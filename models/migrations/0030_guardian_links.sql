-- parent_students.phone is the phone a 'phone' link was proved with, so a
-- roster that drops that phone drops the link even after the parent moved
-- to another phone. Links made before this migration take the parent's
-- current phone, the best record there is.
ALTER TABLE parent_students ADD COLUMN phone TEXT;
UPDATE parent_students SET phone = (SELECT u.phone FROM users u WHERE u.id = parent_students.user_id)
  WHERE via = 'phone';
CREATE INDEX parent_students_phone ON parent_students(phone);

-- link_version moves in the transaction of every removal of a link (by
-- the school, by the guardian, by a roster, by a deletion), and every
-- instance reads it before trusting its cached children: a removal takes
-- effect on every instance at once.
CREATE TABLE link_version (
  id INTEGER PRIMARY KEY,
  version BIGINT NOT NULL
);
INSERT INTO link_version (id, version) VALUES (1, 0);

-- deletion_requests are guardians' requests to delete a child's data;
-- the school confirms them (status pending › done).
CREATE TABLE deletion_requests (
  id {{ID}},
  student_id BIGINT NOT NULL REFERENCES students(id),
  school_id BIGINT NOT NULL REFERENCES schools(id),
  requested_by BIGINT NOT NULL REFERENCES users(id),
  reason TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  created_at {{TS}} NOT NULL,
  decided_by BIGINT REFERENCES users(id),
  decided_at {{TS}}
);
CREATE INDEX deletion_requests_school ON deletion_requests(school_id, status, id);
CREATE UNIQUE INDEX deletion_requests_pending ON deletion_requests(student_id) WHERE status = 'pending';
