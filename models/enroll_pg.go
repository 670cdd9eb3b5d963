package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// Enrollment batches on PostgreSQL. One transaction per enrollment spent
// its time queueing on a popular club's row (the seat counter is locked from
// the seat UPDATE to COMMIT) and PostgreSQL's CPU on six or seven statements
// per enrollment. Instead, a few workers each take every enrollment waiting
// at that moment (up to maxGroup) and run them as one transaction of a fixed
// number of set-based statements:
//
//  1. lock the batch's students (sorted, FOR UPDATE), reading their school,
//     grade and active flag;
//  2. load their live enrollments;
//  3. lock the batch's offerings (sorted, FOR UPDATE), reading status and
//     counters;
//  4. in Go, in arrival order: every rule against the live enrollments plus
//     those the batch has already given the student, then a seat, a gapless
//     waitlist position, or a lottery application from the locked counters;
//  5. write the counters and draw the enrollments' ids;
//  6. one statement inserts the rows, the guardians' confirmations and the
//     Idempotency-Key answers (data-modifying CTEs over unnest arrays, so the
//     statement text, and its prepared plan, is the same for every batch).
//
// Locks are taken students first, then offerings, each in id order, so two
// batches never deadlock each other. A refusal is that member's answer and
// writes nothing. An engine error, a stored Idempotency-Key found in the way,
// or a panic sends every member through a transaction of its own (a batch of
// one), so each caller gets its own honest answer. A caller is answered only
// after the transaction holding its work committed.

// pgEnrollWorkers is how many enrollment batches run at once on one handle.
const pgEnrollWorkers = 2

const nextEnrollmentID = "nextval(pg_get_serial_sequence('enrollments', 'id'))"

// errSplitBatch makes a batch run again one member at a time.
var errSplitBatch = errors.New("models: batch must run member by member")

// pgEnrollJob is one enrollment past the pre-checks, waiting for a batch.
type pgEnrollJob struct {
	ctx      context.Context
	in       NewEnrollment
	now      time.Time
	st       Student
	o        Offering
	t        Term
	override bool
	hash     string // of the request, when it has an Idempotency-Key
	done     chan pgEnrollResult
}

type pgEnrollResult struct {
	e   Enrollment
	err error
}

// enrollPG queues j for a batch and waits for its answer.
func (db *DB) enrollPG(j *pgEnrollJob) (Enrollment, error) {
	j.done = make(chan pgEnrollResult, 1)
	if err := db.pgEnroll.submit(j.ctx, j); err != nil {
		return Enrollment{}, err
	}
	// Once handed over, wait whatever ctx does: the work may be committed.
	r := <-j.done
	return r.e, repanic(r.err)
}

// runEnrollBatchPG runs one batch: together, or member by member when the
// batch failed (split).
func (db *DB) runEnrollBatchPG(jobs []*pgEnrollJob) (split bool) {
	live := make([]*pgEnrollJob, 0, len(jobs))
	for _, j := range jobs {
		if err := j.ctx.Err(); err != nil {
			j.done <- pgEnrollResult{err: err}
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return false
	}
	run := func(batch []*pgEnrollJob, res []pgEnrollResult) error {
		err := retryTx(context.Background(), db, guarded(func(tx *gorm.DB) error {
			clear(res)
			return enrollBatchPG(tx, batch, res)
		}))
		if err != nil && len(batch) == 1 {
			res[0] = pgEnrollResult{err: err}
		}
		return err
	}
	res := make([]pgEnrollResult, len(live))
	if err := run(live, res); err != nil && len(live) > 1 {
		split = true
		for i := range live {
			run(live[i:i+1], res[i:i+1]) //nolint:errcheck // the answer is in res[i]
		}
	}
	for i, j := range live {
		j.done <- res[i]
	}
	return split
}

// lockedOffering is an offering's row as the batch locked it, with the
// counters moved by the members decided so far.
type lockedOffering struct {
	Status     string     `json:"status"`
	Mode       string     `json:"mode"`
	Waitlist   bool       `json:"waitlist"`
	DrawnAt    *time.Time `json:"drawn_at"`
	Capacity   int        `json:"capacity"`
	Enrolled   int        `json:"enrolled_count"`
	Waitlisted int        `json:"waitlisted_count"`
	Applied    int        `json:"applied_count"`
	changed    bool
}

// enrollBatchPG decides and writes jobs in tx, setting res[i] to the i-th
// member's enrollment or refusal. It returns an error only when the batch as
// a whole must not commit.
func enrollBatchPG(tx *gorm.DB, jobs []*pgEnrollJob, res []pgEnrollResult) error {
	r := rawOf(tx)
	sids := make([]int64, 0, len(jobs))
	oids := make([]int64, 0, len(jobs))
	for _, j := range jobs {
		sids = append(sids, j.st.ID)
		oids = append(oids, j.o.ID)
	}
	slices.Sort(sids)
	sids = slices.Compact(sids)
	slices.Sort(oids)
	oids = slices.Compact(oids)

	type studentRow struct {
		school int64
		grade  int
		active bool
	}
	students := make(map[int64]studentRow, len(sids))
	err := r.each("SELECT id, school_id, grade, active FROM students WHERE id = ANY(?) ORDER BY id FOR UPDATE",
		[]any{sids}, func(rows *sql.Rows) error {
			var id int64
			var s studentRow
			if err := rows.Scan(&id, &s.school, &s.grade, &s.active); err != nil {
				return err
			}
			students[id] = s
			return nil
		})
	if err != nil {
		return err
	}

	// Their live enrollments, the batch's offerings locked, and an id for
	// each member, in one round trip. This statement's snapshot is taken
	// after the students' locks were granted, so it sees every enrollment
	// committed by whoever held them before.
	type termOf struct{ student, term int64 }
	held := map[termOf][]Held{}
	offerings := make(map[int64]*lockedOffering, len(oids))
	var heldJSON, offeringsJSON, idsJSON []byte
	err = r.queryRow(batchRead, oids, sids, StatusEnrolled, StatusWaitlisted, StatusApplied, len(jobs)).
		Scan(&heldJSON, &offeringsJSON, &idsJSON)
	if err != nil {
		return err
	}
	var heldRows []struct {
		Student, Term int64
		Held
	}
	var offeringRows []struct {
		ID int64
		lockedOffering
	}
	var ids []int64
	for _, d := range []struct {
		b []byte
		v any
	}{{heldJSON, &heldRows}, {offeringsJSON, &offeringRows}, {idsJSON, &ids}} {
		if err := json.Unmarshal(d.b, d.v); err != nil {
			return fmt.Errorf("models: decode batch read: %w", err)
		}
	}
	for _, h := range heldRows {
		k := termOf{h.Student, h.Term}
		held[k] = append(held[k], h.Held)
	}
	for i := range offeringRows {
		offerings[offeringRows[i].ID] = &offeringRows[i].lockedOffering
	}
	if len(ids) != len(jobs) {
		return fmt.Errorf("models: drew %d enrollment ids for %d enrollments", len(ids), len(jobs))
	}

	var taken []int // members given a place, in arrival order
	for i, j := range jobs {
		s, ok := students[j.st.ID]
		lo := offerings[j.o.ID]
		if !ok || lo == nil {
			res[i].err = ErrNotFound
			continue
		}
		st, o := j.st, j.o
		st.SchoolID, st.Grade, st.Active = s.school, s.grade, s.active
		o.Status, o.Mode, o.Waitlist, o.DrawnAt, o.Capacity = lo.Status, lo.Mode, lo.Waitlist, lo.DrawnAt, lo.Capacity
		k := termOf{st.ID, o.TermID}
		if err := CheckEnrollable(st, o, j.t, held[k], j.now, j.override); err != nil {
			res[i].err = err
			continue
		}
		rank, err := pickRank(o, j.in.Rank, held[k])
		if err != nil {
			res[i].err = err
			continue
		}
		e := Enrollment{StudentID: st.ID, OfferingID: o.ID, SchoolID: o.SchoolID, TermID: o.TermID, Rank: rank,
			AppliedBy: j.in.Actor.UserID, CreatedAt: j.now, UpdatedAt: j.now}
		switch {
		case applies(o):
			e.Status = StatusApplied
			lo.Applied++
		case lo.Enrolled < lo.Capacity:
			e.Status = StatusEnrolled
			lo.Enrolled++
		case lo.Waitlist:
			lo.Waitlisted++
			pos := lo.Waitlisted
			e.Status, e.WaitlistPosition = StatusWaitlisted, &pos
		default:
			res[i].err = ErrFull
			continue
		}
		lo.changed = true
		res[i].e = e
		held[k] = append(held[k], Held{OfferingID: o.ID, Status: e.Status, Rank: rank, Kind: o.Kind,
			Weekdays: o.Weekdays, StartMin: o.StartMin, EndMin: o.EndMin})
		taken = append(taken, i)
	}
	if len(taken) == 0 {
		return nil
	}

	var w batchWrite
	for n, i := range taken {
		e := &res[i].e
		e.ID = ids[n]
		if err := w.add(jobs[i], *e); err != nil {
			return err
		}
	}
	for _, id := range oids {
		if lo := offerings[id]; lo != nil && lo.changed {
			w.cID = append(w.cID, id)
			w.cEnrolled = append(w.cEnrolled, int64(lo.Enrolled))
			w.cWaitlisted = append(w.cWaitlisted, int64(lo.Waitlisted))
			w.cApplied = append(w.cApplied, int64(lo.Applied))
		}
	}
	var stored int
	if err := r.queryRow(batchInsert, w.args(time.Now().UTC())...).Scan(&stored); err != nil {
		if isUniqueViolation(err) && len(jobs) == 1 {
			return ErrAlreadyEnrolled
		}
		return err
	}
	if stored == len(w.kUser) {
		return nil
	}
	// An unexpired answer is stored under one of the keys: a retry, or a
	// key reused, racing this request.
	if len(jobs) > 1 {
		return errSplitBatch
	}
	j := jobs[0]
	return afterIdempotencyInsert(tx, 0, j.in.Actor.UserID, j.in.IdempotencyKey, j.hash, j.now)
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
// the guardians' confirmations of the seats taken, and the Idempotency-Key
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
	SELECT CAST(? AS TEXT), ps.user_id, v.sid, v.event || ':user:' || CAST(ps.user_id AS TEXT), v.payload, 'pending', 0,
		CAST(? AS TIMESTAMPTZ), '', CAST(? AS TIMESTAMPTZ)
	FROM unnest(CAST(? AS BIGINT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[])) AS v(sid, event, payload)
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

// batchWrite gathers the columns of batchInsert.
type batchWrite struct {
	cID, cEnrolled, cWaitlisted, cApplied []int64
	id, sid, oid, school, term, by        []int64
	status                                []string
	pos, rank                             []int64
	at                                    []time.Time
	nSid                                  []int64
	nEvent, nPayload                      []string
	kUser                                 []int64
	kKey, kHash, kBody                    []string
	kStatus                               []int64
	kAt, kExpires                         []time.Time
}

func (w *batchWrite) add(j *pgEnrollJob, e Enrollment) error {
	w.id = append(w.id, e.ID)
	w.sid = append(w.sid, e.StudentID)
	w.oid = append(w.oid, e.OfferingID)
	w.school = append(w.school, e.SchoolID)
	w.term = append(w.term, e.TermID)
	w.status = append(w.status, e.Status)
	pos := 0
	if e.WaitlistPosition != nil {
		pos = *e.WaitlistPosition
	}
	w.pos = append(w.pos, int64(pos))
	w.rank = append(w.rank, int64(e.Rank))
	w.by = append(w.by, e.AppliedBy)
	w.at = append(w.at, e.CreatedAt)
	if e.Status == StatusEnrolled {
		p, err := json.Marshal(enrollmentPayload(j.st, j.o, e))
		if err != nil {
			return err
		}
		w.nSid = append(w.nSid, e.StudentID)
		w.nEvent = append(w.nEvent, fmt.Sprintf("enrolled:enrollment:%d", e.ID))
		w.nPayload = append(w.nPayload, string(p))
	}
	if j.in.IdempotencyKey != "" {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		w.kUser = append(w.kUser, e.AppliedBy)
		w.kKey = append(w.kKey, j.in.IdempotencyKey)
		w.kHash = append(w.kHash, j.hash)
		w.kStatus = append(w.kStatus, idempotentStatus)
		w.kBody = append(w.kBody, string(b))
		w.kAt = append(w.kAt, j.now)
		w.kExpires = append(w.kExpires, j.now.Add(IdempotencyTTL))
	}
	return nil
}

// args are batchInsert's arguments; now stamps the confirmations.
func (w *batchWrite) args(now time.Time) []any {
	return []any{w.cID, w.cEnrolled, w.cWaitlisted, w.cApplied, w.id, w.sid, w.oid, w.school, w.term, w.status, w.pos, w.rank, w.by, w.at,
		NotifyEnrollmentConfirmed, now, now, w.nSid, w.nEvent, w.nPayload,
		w.kUser, w.kKey, w.kHash, w.kStatus, w.kBody, w.kAt, w.kExpires}
}
