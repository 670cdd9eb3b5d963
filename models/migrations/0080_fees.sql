-- 0080: fees as policy (SPEC "Fees and payment"). A region's fee policy,
-- inherited down the tree; the billing unit beside an offering's fee; a
-- student's hardship waiver and its audit trail; orders and their
-- append-only ledger. Money is integer fen everywhere.

-- fee_policies: one row per region that sets a policy; the nearest region
-- on a school's path with a row wins. A NULL cap means "no cap".
CREATE TABLE fee_policies (
  region_id BIGINT PRIMARY KEY REFERENCES regions(id),
  basic_max_fen_per_session BIGINT,
  club_max_fen_per_session BIGINT,
  hold_minutes INTEGER NOT NULL,
  refund_rule TEXT NOT NULL,
  updated_by BIGINT REFERENCES users(id),
  updated_at {{TS}} NOT NULL
);

-- billing is the unit fee_fen is charged per: term|month|session.
ALTER TABLE offerings ADD COLUMN billing TEXT NOT NULL DEFAULT 'term';

-- fee_waiver none|half|full with its reason (poverty_registered|dibao|
-- disability|other, '' for none); applied when an order is made.
ALTER TABLE students ADD COLUMN fee_waiver TEXT NOT NULL DEFAULT 'none';
ALTER TABLE students ADD COLUMN waiver_reason TEXT NOT NULL DEFAULT '';

-- waiver_changes is the audit trail of waivers: who, when, old, new.
CREATE TABLE waiver_changes (
  id {{ID}},
  student_id BIGINT NOT NULL REFERENCES students(id) ON DELETE CASCADE,
  school_id BIGINT NOT NULL REFERENCES schools(id),
  old_waiver TEXT NOT NULL,
  old_reason TEXT NOT NULL,
  new_waiver TEXT NOT NULL,
  new_reason TEXT NOT NULL,
  source TEXT NOT NULL DEFAULT 'api',
  changed_by BIGINT REFERENCES users(id),
  changed_at {{TS}} NOT NULL
);
CREATE INDEX waiver_changes_student ON waiver_changes(student_id, id);

-- orders: one per seat in a priced offering. The amounts are the bill as
-- made (sessions billed from bills_from, the unit fee, the waiver); status is
-- derived from the ledger (fee_ledger) and kept here for queries, in the
-- same transaction as every ledger row (an invariant checks they agree).
CREATE TABLE orders (
  id {{ID}},
  school_id BIGINT NOT NULL REFERENCES schools(id),
  term_id BIGINT NOT NULL REFERENCES terms(id),
  offering_id BIGINT NOT NULL REFERENCES offerings(id),
  student_id BIGINT NOT NULL REFERENCES students(id),
  enrollment_id BIGINT NOT NULL UNIQUE REFERENCES enrollments(id),
  billing TEXT NOT NULL,
  unit_fen BIGINT NOT NULL,
  sessions INTEGER NOT NULL,
  bills_from TEXT NOT NULL,
  gross_fen BIGINT NOT NULL,
  waiver TEXT NOT NULL,
  waiver_fen BIGINT NOT NULL,
  amount_fen BIGINT NOT NULL,
  status TEXT NOT NULL,
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL
);
CREATE INDEX orders_school_term ON orders(school_id, term_id, status);
CREATE INDEX orders_offering ON orders(offering_id);
CREATE INDEX orders_student ON orders(student_id);

-- fee_ledger is append-only: kind charge|waiver|credit|void|payment|refund,
-- amount_fen > 0 always (the kind gives the sign). external_id is the
-- movement's stable name: a retry that names it again cannot move money twice.
CREATE TABLE fee_ledger (
  id {{ID}},
  order_id BIGINT NOT NULL REFERENCES orders(id),
  school_id BIGINT NOT NULL REFERENCES schools(id),
  kind TEXT NOT NULL,
  amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
  external_id TEXT NOT NULL UNIQUE,
  method TEXT NOT NULL DEFAULT '',
  ref TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  session_id BIGINT REFERENCES sessions(id),
  occurred_at {{TS}} NOT NULL,
  created_by BIGINT REFERENCES users(id),
  created_at {{TS}} NOT NULL
);
CREATE INDEX fee_ledger_order ON fee_ledger(order_id, id);

-- fee_audit records the staff actions on money (payments recorded, refunds
-- made, policies set): who, when, what.
CREATE TABLE fee_audit (
  id {{ID}},
  user_id BIGINT REFERENCES users(id),
  action TEXT NOT NULL,
  school_id BIGINT REFERENCES schools(id),
  region_id BIGINT REFERENCES regions(id),
  object TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '',
  request_id TEXT NOT NULL DEFAULT '',
  created_at {{TS}} NOT NULL
);
