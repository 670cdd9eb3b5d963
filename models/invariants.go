package models

// Invariant is one enrollment rule as a query that counts its violations.
type Invariant struct{ Name, SQL string }

// Invariants are the enrollment rules as queries over the whole database,
// each counting its violations: every one must count 0 after any
// interleaving of enrollments, withdrawals, promotions, draws and changes.
// modelstest.CheckInvariants runs them in every concurrency test, and the
// load program after every scenario.
var Invariants = []Invariant{
	{"enrolled_count <= capacity",
		`SELECT count(*) FROM offerings WHERE enrolled_count > capacity`},
	{"enrolled rows <= capacity (no oversell)",
		`SELECT count(*) FROM offerings o WHERE o.capacity <
		   (SELECT count(*) FROM enrollments e WHERE e.offering_id = o.id AND e.status IN ` + seatSQL + `)`},
	{"counters match rows",
		`SELECT count(*) FROM offerings o WHERE
		   o.enrolled_count <> (SELECT count(*) FROM enrollments e WHERE e.offering_id = o.id AND e.status IN ` + seatSQL + `)
		OR o.waitlisted_count <> (SELECT count(*) FROM enrollments e WHERE e.offering_id = o.id AND e.status = ` + waitlistedSQL + `)
		OR o.applied_count <> (SELECT count(*) FROM enrollments e WHERE e.offering_id = o.id AND e.status = ` + appliedSQL + `)`},
	{"one live enrollment per student and offering",
		`SELECT count(*) FROM (SELECT student_id, offering_id FROM enrollments
		   WHERE status IN ` + liveSQL + `
		   GROUP BY student_id, offering_id HAVING count(*) > 1) x`},
	{"no student over max_clubs",
		`SELECT count(*) FROM (SELECT e.student_id FROM enrollments e
		   JOIN offerings o ON o.id = e.offering_id JOIN terms t ON t.id = e.term_id
		   WHERE e.status IN ` + seatSQL + ` AND o.kind = 'club'
		   GROUP BY e.student_id, e.term_id, t.max_clubs HAVING count(*) > t.max_clubs) x`},
	{"no overlapping enrolled clubs",
		`SELECT count(*) FROM enrollments a
		   JOIN enrollments b ON b.student_id = a.student_id AND b.id > a.id AND b.status IN ` + seatSQL + `
		   JOIN offerings oa ON oa.id = a.offering_id JOIN offerings ob ON ob.id = b.offering_id
		 WHERE a.status IN ` + seatSQL + ` AND oa.kind = 'club' AND ob.kind = 'club'
		   AND (oa.weekdays & ob.weekdays) <> 0 AND oa.start_min < ob.end_min AND ob.start_min < oa.end_min`},
	{"waitlist positions are 1..N per offering",
		`SELECT count(*) FROM (SELECT offering_id FROM enrollments WHERE status = ` + waitlistedSQL + `
		   GROUP BY offering_id HAVING min(waitlist_position) <> 1 OR max(waitlist_position) <> count(*)
		   OR count(DISTINCT waitlist_position) <> count(*)) x`},
	{"no free seat while someone who fits waits (fcfs)",
		`SELECT count(*) FROM offerings o WHERE o.mode = 'fcfs' AND o.status <> 'cancelled' AND o.enrolled_count < o.capacity
		   AND EXISTS (SELECT 1 FROM enrollments e WHERE e.offering_id = o.id AND e.status = ` + waitlistedSQL + `
		     AND NOT EXISTS (SELECT 1 FROM enrollments x JOIN offerings ox ON ox.id = x.offering_id
		       WHERE x.student_id = e.student_id AND x.status IN ` + seatSQL + ` AND x.offering_id <> o.id
		       AND o.kind = 'club' AND ox.kind = 'club' AND (ox.weekdays & o.weekdays) <> 0
		       AND ox.start_min < o.end_min AND o.start_min < ox.end_min))`},
	// The money invariants (order.go): an order's stored status is what its
	// ledger gives (DeriveOrderStatus, written again in SQL), its charge is
	// its gross and its waiver row its waiver, and what it kept (paid less
	// refunded) is never more than its bill — a payment that landed after
	// its seat was gone is refunded in full (wechatpay.go); a paid order's seat is
	// enrolled or was given up (and settled by the refund rule then); a
	// held seat has an unpaid order and an expiry.
	{"order status matches its ledger",
		`SELECT count(*) FROM orders o LEFT JOIN (SELECT order_id,
		   ` + ledgerSumSQL("kind", "amount_fen", LedgerCharge) + ` AS c,
		   ` + ledgerSumSQL("kind", "amount_fen", LedgerWaiver) + ` AS w,
		   ` + ledgerSumSQL("kind", "amount_fen", LedgerCredit) + ` AS k,
		   ` + ledgerSumSQL("kind", "amount_fen", LedgerVoid) + ` AS v,
		   ` + ledgerSumSQL("kind", "amount_fen", LedgerPayment) + ` AS p,
		   ` + ledgerSumSQL("kind", "amount_fen", LedgerRefund) + ` AS r
		   FROM fee_ledger GROUP BY order_id) s ON s.order_id = o.id
		 WHERE s.order_id IS NULL OR s.c <> o.gross_fen OR s.w <> o.waiver_fen OR o.amount_fen <> o.gross_fen - o.waiver_fen
		   OR s.c - s.w - s.k - s.v - (s.p - s.r) < 0 OR s.r > s.p
		   OR o.status <> ` + orderStatusSQL("s.c", "s.w", "s.k", "s.v", "s.p", "s.r")},
	{"no paid order without a seat or a settled withdrawal",
		`SELECT count(*) FROM orders o JOIN enrollments e ON e.id = o.enrollment_id
		 WHERE o.status IN ` + sqlList(orderKeptStatuses) + ` AND e.status NOT IN (` + enrolledSQL + `, ` + withdrawnSQL + `)`},
	{"no withdrawn seat still owing",
		`SELECT count(*) FROM orders o JOIN enrollments e ON e.id = o.enrollment_id
		 WHERE o.status = ` + sqlText(OrderUnpaid) + ` AND e.status = ` + withdrawnSQL},
	{"a held seat has an unpaid order and an expiry",
		`SELECT count(*) FROM enrollments e LEFT JOIN orders o ON o.enrollment_id = e.id
		 WHERE e.status = ` + sqlText(StatusPendingPayment) + ` AND (o.id IS NULL OR o.status <> ` + sqlText(OrderUnpaid) + ` OR e.hold_expires_at IS NULL)`},
}

// The statuses the invariants name one by one, as SQL literals.
var (
	enrolledSQL   = sqlText(StatusEnrolled)
	waitlistedSQL = sqlText(StatusWaitlisted)
	appliedSQL    = sqlText(StatusApplied)
	withdrawnSQL  = sqlText(StatusWithdrawn)
)
