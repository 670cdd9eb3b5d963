package models

import (
	"encoding/json"
	"fmt"
	"time"
)

// PostgreSQL's part of the enrollment batches (enroll_batch.go): the read
// takes the row locks and the write is one statement, so a batch costs five
// round trips whatever its size (BEGIN, the students' locks, the read, the
// write, COMMIT).

const nextEnrollmentID = "nextval(pg_get_serial_sequence('enrollments', 'id'))"

// readBatchPG locks the batch's students, then reads their live
// enrollments, locks the batch's offerings and draws n enrollment ids in
// one statement. That statement's snapshot is taken after the students'
// locks were granted, so it sees every enrollment committed by whoever
// held them before (which is why the students' lock cannot be folded into
// it).
func readBatchPG(r raw, sids, oids []int64, n int) (batchFacts, error) {
	f := batchFacts{students: make(map[int64]studentFacts, len(sids)), held: map[termOf][]Held{},
		offerings: make(map[int64]*lockedOffering, len(oids))}
	err := r.each("SELECT id, school_id, grade, active FROM students WHERE id = ANY(?) ORDER BY id FOR UPDATE",
		[]any{sids}, f.scanStudent)
	if err != nil {
		return f, err
	}
	var heldJSON, offeringsJSON, idsJSON []byte
	err = r.queryRow(batchRead, oids, sids, StatusEnrolled, StatusWaitlisted, StatusApplied, n).
		Scan(&heldJSON, &offeringsJSON, &idsJSON)
	if err != nil {
		return f, err
	}
	var heldRows []struct {
		Student, Term int64
		Held
	}
	var offeringRows []struct {
		ID int64
		lockedOffering
	}
	for _, d := range []struct {
		b []byte
		v any
	}{{heldJSON, &heldRows}, {offeringsJSON, &offeringRows}, {idsJSON, &f.ids}} {
		if err := json.Unmarshal(d.b, d.v); err != nil {
			return f, fmt.Errorf("models: decode batch read: %w", err)
		}
	}
	for _, h := range heldRows {
		k := termOf{h.Student, h.Term}
		f.held[k] = append(f.held[k], h.Held)
	}
	for i := range offeringRows {
		f.offerings[offeringRows[i].ID] = &offeringRows[i].lockedOffering
	}
	return f, nil
}

// writeBatchPG writes w with batchInsert and returns the Idempotency-Key
// answers stored.
func writeBatchPG(r raw, w *batchWrite, now time.Time) (int, error) {
	var stored int
	err := r.queryRow(batchInsert, w.pgArgs(now)...).Scan(&stored)
	return stored, err
}

// batchRead returns, as JSON, the batch students' live enrollments (with
// their offerings' slots), the batch's offerings locked in id order, and
// fresh enrollment ids (one per member; a refused member's id is not used).
const batchRead = `WITH lo AS (
	SELECT id, status, mode, waitlist, drawn_at, capacity, enrolled_count, waitlisted_count, applied_count
	FROM offerings WHERE id = ANY(?) ORDER BY id FOR UPDATE
)
SELECT
	(SELECT COALESCE(json_agg(json_build_object('Student', e.student_id, 'Term', e.term_id, 'OfferingID', e.offering_id,
		'Status', e.status, 'Rank', e.rank, 'Kind', o.kind, 'Weekdays', o.weekdays, 'StartMin', o.start_min, 'EndMin', o.end_min)), '[]')
	 FROM enrollments e JOIN offerings o ON o.id = e.offering_id
	 WHERE e.student_id = ANY(?) AND e.status IN (?, ?, ?)),
	(SELECT COALESCE(json_agg(lo), '[]') FROM lo),
	(SELECT json_agg(` + nextEnrollmentID + `) FROM generate_series(1, CAST(? AS INTEGER)))`

// batchInsert moves the batch's offerings' counters, writes its enrollments,
// the guardians' messages (seats taken, waitlist places), and the Idempotency-Key
// answers (replacing only expired ones), and counts the answers stored.
const batchInsert = `WITH u AS (
	UPDATE offerings o SET enrolled_count = v.e, waitlisted_count = v.w, applied_count = v.a
	FROM unnest(CAST(? AS BIGINT[]), CAST(? AS BIGINT[]), CAST(? AS BIGINT[]), CAST(? AS BIGINT[])) AS v(id, e, w, a)
	WHERE o.id = v.id
), e AS (
	INSERT INTO enrollments (id, student_id, offering_id, school_id, term_id, status, waitlist_position, rank,
		applied_by, created_at, updated_at)
	SELECT id, sid, oid, school, term, status, NULLIF(pos, 0), rank, by, at, at
	FROM unnest(CAST(? AS BIGINT[]), CAST(? AS BIGINT[]), CAST(? AS BIGINT[]), CAST(? AS BIGINT[]), CAST(? AS BIGINT[]),
		CAST(? AS TEXT[]), CAST(? AS INTEGER[]), CAST(? AS INTEGER[]), CAST(? AS BIGINT[]), CAST(? AS TIMESTAMPTZ[]))
		AS v(id, sid, oid, school, term, status, pos, rank, by, at)
), n AS (
	INSERT INTO outbox (kind, user_id, student_id, dedupe_key, payload, status, attempts, next_attempt_at, last_error, created_at)
	SELECT v.kind, ps.user_id, v.sid, v.event || ':user:' || CAST(ps.user_id AS TEXT), v.payload, 'pending', 0,
		CAST(? AS TIMESTAMPTZ), '', CAST(? AS TIMESTAMPTZ)
	FROM unnest(CAST(? AS BIGINT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[])) AS v(sid, event, payload, kind)
	JOIN parent_students ps ON ps.student_id = v.sid
	ON CONFLICT (dedupe_key) DO NOTHING
), k AS (
	INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, created_at, expires_at)
	SELECT * FROM unnest(CAST(? AS BIGINT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS INTEGER[]),
		CAST(? AS TEXT[]), CAST(? AS TIMESTAMPTZ[]), CAST(? AS TIMESTAMPTZ[]))
	ON CONFLICT (user_id, key) DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status,
		body = excluded.body, created_at = excluded.created_at, expires_at = excluded.expires_at
	WHERE idempotency_keys.expires_at <= excluded.created_at
	RETURNING 1
)
SELECT count(*) FROM k`

// pgArgs are batchInsert's arguments; now stamps the confirmations.
func (w *batchWrite) pgArgs(now time.Time) []any {
	return []any{w.cID, w.cEnrolled, w.cWaitlisted, w.cApplied, w.id, w.sid, w.oid, w.school, w.term, w.status, w.pos, w.rank, w.by, w.at,
		now, now, w.nSid, w.nEvent, w.nPayload, w.nKind,
		w.kUser, w.kKey, w.kHash, w.kStatus, w.kBody, w.kAt, w.kExpires}
}
