package models

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// PostgreSQL's part of the enrollment batches (enroll_batch.go): the read
// takes the row locks and the write is one statement, so a batch costs five
// round trips whatever its size (BEGIN, the students' locks, the read, the
// write, COMMIT). Row locks are taken in one order: the students, then the
// offerings, each in id order, so two batches never deadlock.

const nextEnrollmentID = "nextval(pg_get_serial_sequence('enrollments', 'id'))"

// readBatchPG locks the batch's students, then, in one statement, reads
// their guardians' links and live enrollments, locks the batch's offerings
// (with their terms' max_clubs) and draws n enrollment ids. That
// statement's snapshot is taken after the students' locks were granted, so
// it sees every enrollment committed by whoever held them before (which is
// why the students' lock cannot be folded into it).
func readBatchPG(r raw, sids, oids []int64, n int) (batchFacts, error) {
	f := newBatchFacts(len(sids), len(oids))
	err := r.each("SELECT "+studentFactColumns+" FROM students WHERE id = ANY(?) ORDER BY id FOR UPDATE",
		[]any{sids}, f.scanStudent)
	if err != nil {
		return f, err
	}
	var linksJSON, heldJSON, offeringsJSON, idsJSON []byte
	err = r.queryRow(batchRead, oids, sids, sids, n).
		Scan(&linksJSON, &heldJSON, &offeringsJSON, &idsJSON)
	if err != nil {
		return f, err
	}
	var links [][2]int64
	var heldRows []struct {
		Student int64 `json:"student_id"`
		Term    int64 `json:"term_id"`
		Held
	}
	var offeringRows []struct {
		ID int64 `json:"id"`
		offeringRow
	}
	for _, d := range []struct {
		b []byte
		v any
	}{{linksJSON, &links}, {heldJSON, &heldRows}, {offeringsJSON, &offeringRows}, {idsJSON, &f.ids}} {
		if err := json.Unmarshal(d.b, d.v); err != nil {
			return f, fmt.Errorf("models: decode batch read: %w", err)
		}
	}
	for _, l := range links {
		f.links[guardianLink{user: l[0], student: l[1]}] = true
	}
	for _, h := range heldRows {
		k := studentTerm{h.Student, h.Term}
		f.held[k] = append(f.held[k], h.Held)
	}
	for i := range offeringRows {
		f.offerings[offeringRows[i].ID] = &offeringRows[i].offeringRow
	}
	return f, nil
}

// writeBatchPG writes w with batchInsert and returns the Idempotency-Key
// answers stored and the offerings whose counters moved.
func writeBatchPG(r raw, w *batchWrite, now time.Time) (stored, moved int, err error) {
	err = r.queryRow(batchInsert, w.pgArgs(now)...).Scan(&stored, &moved)
	return stored, moved, err
}

// batchRead returns, as JSON, the guardians' links of the batch's students
// ([user, student] pairs), their live enrollments (with their offerings'
// slots, keyed as Held's JSON names), the batch's offerings locked in id
// order (keyed as offeringRow's), and fresh enrollment ids (one per member;
// a refused member's id is not used).
var batchRead = `WITH lo AS (
	SELECT ` + offeringRowColumns + `
	FROM offerings o JOIN terms t ON t.id = o.term_id WHERE o.id = ANY(?) ORDER BY o.id FOR UPDATE OF o
)
SELECT
	(SELECT COALESCE(json_agg(json_build_array(ps.user_id, ps.student_id)), '[]') FROM parent_students ps
	 WHERE ps.student_id = ANY(?)),
	(SELECT COALESCE(json_agg(json_build_object('student_id', e.student_id, 'term_id', e.term_id, 'offering_id', e.offering_id,
		'status', e.status, 'rank', e.rank, 'kind', o.kind, 'weekdays', o.weekdays, 'start_min', o.start_min, 'end_min', o.end_min)), '[]')
	 FROM enrollments e JOIN offerings o ON o.id = e.offering_id
	 WHERE e.student_id = ANY(?) AND e.status IN ` + liveSQL + `),
	(SELECT COALESCE(json_agg(lo), '[]') FROM lo),
	(SELECT json_agg(` + nextEnrollmentID + `) FROM generate_series(1, CAST(? AS INTEGER)))`

// batchInsert moves the batch's offerings' counters (seatsTaken), writes
// its enrollments, the guardians' messages (seats taken, waitlist places;
// kind per row), and the Idempotency-Key answers (replacing only expired
// ones), and counts the answers stored and the counters moved: one
// statement, its rows named in enroll_facts.go.
var batchInsert = `WITH u AS (
	` + seatsTaken(pgRows(zeroWrite.counterColumns())) + `
	RETURNING 1
), e AS (
	` + enrollmentsInsert(pgRows(zeroWrite.enrollmentColumns())) + `
), n AS (
	` + guardianOutboxInsert(pgRows(zeroWrite.noteColumns()), "v.kind", "CAST(? AS TIMESTAMPTZ)") + `
), k AS (
	` + answersInsert(pgRows(zeroWrite.answerColumns())) + `
	RETURNING 1
)
SELECT (SELECT count(*) FROM k), (SELECT count(*) FROM u)`

// pgArgs are batchInsert's arguments, in its order; now stamps the
// confirmations.
func (w *batchWrite) pgArgs(now time.Time) []any {
	args := append(pgValues(w.counterColumns()), pgValues(w.enrollmentColumns())...)
	args = append(args, now, now)
	args = append(args, pgValues(w.noteColumns())...)
	return append(args, pgValues(w.answerColumns())...)
}

// batchOrders opens the held seats' orders and writes their first ledger
// rows in one statement (openBatchOrders), answering each order's id and
// enrollment: the ledger rows find their order in the inserting CTE.
var batchOrders = `WITH ord AS (
	` + ordersInsert(pgRows(zeroWrite.orderColumns())) + `
), l AS (
	` + ledgerInsert(pgRows(zeroWrite.ledgerColumns()), "ord") + `
)
SELECT id, enrollment_id FROM ord`

// writeOrdersPG writes w's orders and ledger rows and returns each order's
// id by its enrollment.
func writeOrdersPG(r raw, w *batchWrite) (map[int64]int64, error) {
	args := append(pgValues(w.orderColumns()), pgValues(w.ledgerColumns())...)
	ids := make(map[int64]int64, len(w.orderEnrollment))
	err := r.each(batchOrders, args, func(rows *sql.Rows) error {
		var id, enrollment int64
		if err := rows.Scan(&id, &enrollment); err != nil {
			return err
		}
		ids[enrollment] = id
		return nil
	})
	return ids, err
}
