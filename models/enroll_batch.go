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

// Enrollment batches. In a rush the write path is the bottleneck: on SQLite
// the one writer, on PostgreSQL a popular club's row (its seat counter is
// locked from the seat UPDATE to COMMIT). A transaction per enrollment
// would pay, for every enrollment, its own commit and six or seven
// statements. So batch workers (one on SQLite's single writer, two on
// PostgreSQL) each take every enrollment waiting at that moment (up to
// maxGroup) and run them as one transaction of a fixed number of set-based
// statements, whatever the batch's size:
//
//  1. read the batch's students (school, grade, active), their guardians'
//     links and live enrollments, and the batch's offerings — every fact a
//     rule or a seat depends on, with the term's max_clubs and the counters
//     — all fresh, whatever the caches the pre-checks used said; on
//     PostgreSQL the students and then the offerings are locked FOR
//     UPDATE, each in id order, so two batches never deadlock;
//  2. decide in Go, in arrival order: the guardian's link (rule 3), every
//     rule against the live enrollments plus what the batch already gave
//     the same student (CheckEnrollable), then a seat, a gapless waitlist
//     position or a lottery application from the counters (decideBatch);
//  3. write the counters (seatsTaken, seats.go), the enrollments, the guardians' confirmations and
//     the Idempotency-Key answers, each kind of row with one statement over
//     the batch's rows (unnest arrays on PostgreSQL, json_each on SQLite, so
//     a statement's text, and its prepared plan, is the same for every
//     batch).
//
// A refusal is that member's answer and writes nothing. An engine error, an
// unexpired Idempotency-Key found in the way (fewer answers stored than
// written), or a panic sends every member through a batch of its own, so
// each caller gets its own honest answer; a panic is raised again in its
// caller's goroutine. A caller is answered only after the transaction
// holding its work committed.

// maxGroup bounds the enrollments decided and committed together.
const maxGroup = 64

// enrollBatchWorkers is how many batches run at once on one handle:
// SQLite has one writer; on PostgreSQL a second batch gathers and reads
// while the first one writes.
func enrollBatchWorkers(d Dialect) int {
	if d == Postgres {
		return 2
	}
	return 1
}

// errSplitBatch makes a batch run again one member at a time.
var errSplitBatch = errors.New("models: batch must run member by member")

// enrollJob is one enrollment past the pre-checks, waiting for a batch.
type enrollJob struct {
	ctx      context.Context
	in       NewEnrollment
	now      time.Time
	st       Student
	o        Offering
	t        Term
	override bool
	hash     string // of the request, when it has an Idempotency-Key
	done     chan enrollResult
}

type enrollResult struct {
	e   Enrollment
	err error
}

// runEnrollBatch runs one batch: together, or member by member when the
// batch failed (split).
func (db *DB) runEnrollBatch(jobs []*enrollJob) (split bool) {
	live := make([]*enrollJob, 0, len(jobs))
	for _, j := range jobs {
		if err := j.ctx.Err(); err != nil {
			j.done <- enrollResult{err: err}
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return false
	}
	run := func(batch []*enrollJob, res []enrollResult) error {
		err := db.sharedTx(guarded(func(tx *gorm.DB) error {
			clear(res)
			return enrollBatchTx(tx, batch, res, db.observeDecide)
		}))
		if err != nil && len(batch) == 1 {
			res[0] = enrollResult{err: err}
		}
		return err
	}
	res := make([]enrollResult, len(live))
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

// batchFacts is what a batch is decided on, read fresh inside its
// transaction.
type batchFacts struct {
	students map[int64]studentFacts
	// links are the (parent user, student) guardian links of the batch's
	// students: a parent's enrollment stops the moment its link is gone,
	// whatever the caches say.
	links     map[guardianLink]bool
	held      map[studentTerm][]Held // live enrollments by student and term
	offerings map[int64]*offeringRow
	ids       []int64 // one fresh enrollment id per member, in order
}

func newBatchFacts(students, offerings int) batchFacts {
	return batchFacts{students: make(map[int64]studentFacts, students), links: map[guardianLink]bool{},
		held: map[studentTerm][]Held{}, offerings: make(map[int64]*offeringRow, offerings)}
}

type studentFacts struct {
	school int64
	grade  int
	active bool
	waiver string // the fee waiver a priced seat's order applies
}

// studentFactColumns are what the batch reads of a student, in
// scanStudent's order.
const studentFactColumns = "id, school_id, grade, active, fee_waiver"

// scanStudent adds a row of studentFactColumns to f.students.
func (f batchFacts) scanStudent(rows *sql.Rows) error {
	var id int64
	var s studentFacts
	if err := rows.Scan(&id, &s.school, &s.grade, &s.active, &s.waiver); err != nil {
		return err
	}
	f.students[id] = s
	return nil
}

type guardianLink struct{ user, student int64 }

type studentTerm struct{ student, term int64 }

// enrollBatchTx decides and writes jobs in tx, setting res[i] to the i-th
// member's enrollment or refusal. It returns an error only when the batch as
// a whole must not commit.
func enrollBatchTx(tx *gorm.DB, jobs []*enrollJob, res []enrollResult, observe func(NewEnrollment)) error {
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

	read, write := readBatchSQLite, writeBatchSQLite
	if r.d == Postgres {
		read, write = readBatchPG, writeBatchPG
	}
	f, err := read(r, sids, oids, len(jobs))
	if err != nil {
		return err
	}
	if len(f.ids) != len(jobs) {
		return fmt.Errorf("models: drew %d enrollment ids for %d enrollments", len(f.ids), len(jobs))
	}
	taken := decideBatch(jobs, f, res, observe)
	if len(taken) == 0 {
		return nil
	}

	for n, i := range taken {
		res[i].e.ID = f.ids[n]
	}
	priced, err := priceBatch(r, f, jobs, taken, res)
	if err != nil {
		return err
	}
	var w batchWrite
	for _, i := range taken {
		if err := w.add(jobs[i], res[i].e); err != nil {
			return err
		}
	}
	for _, id := range oids {
		if row := f.offerings[id]; row != nil && row.moved != (seatMove{}) {
			w.counterID = append(w.counterID, id)
			w.counterEnrolled = append(w.counterEnrolled, int64(row.moved.enrolled))
			w.counterWaitlisted = append(w.counterWaitlisted, int64(row.moved.waitlisted))
			w.counterApplied = append(w.counterApplied, int64(row.moved.applied))
		}
	}
	stored, moved, err := write(r, &w, txNow(tx))
	if err != nil {
		if isUniqueViolation(err) && len(jobs) == 1 {
			return ErrAlreadyEnrolled
		}
		return err
	}
	if moved != len(w.counterID) {
		// seatsTaken's guard refused a move decided on the locked rows.
		return fmt.Errorf("models: the batch moved the counters of %d of %d offerings", moved, len(w.counterID))
	}
	if err := openBatchOrders(r, jobs, priced, res); err != nil {
		return err
	}
	if stored == len(w.answerUser) {
		return nil
	}
	// An unexpired answer is stored under one of the keys: a retry, or a
	// key reused, racing this request.
	if len(jobs) > 1 {
		return errSplitBatch
	}
	j := jobs[0]
	return keyInTheWay(tx, j.in.Actor.UserID, j.in.IdempotencyKey, j.hash, j.now)
}

// decideBatch decides every member in arrival order against f, moving f's
// counters and live enrollments as it goes: the rules (CheckEnrollable,
// pickRank) on the facts read in the transaction, then a seat, a waitlist
// place or a lottery application from the counters. It sets res[i] and
// returns the members given a place, in order. observe, when set, sees each
// member first (DB.observeDecide: tests).
func decideBatch(jobs []*enrollJob, f batchFacts, res []enrollResult, observe func(NewEnrollment)) []int {
	var taken []int
	for i, j := range jobs {
		if observe != nil {
			observe(j.in)
		}
		s, ok := f.students[j.st.ID]
		row := f.offerings[j.o.ID]
		if !ok || row == nil {
			res[i].err = ErrNotFound
			continue
		}
		if j.in.Actor.Role == RoleParent && !f.links[guardianLink{j.in.Actor.UserID, j.st.ID}] {
			res[i].err = ErrNotFound // rule 3: the link is gone
			continue
		}
		st := j.st
		st.SchoolID, st.Grade, st.Active = s.school, s.grade, s.active
		o, t := row.onto(j.o, j.t)
		k := studentTerm{st.ID, o.TermID}
		if err := CheckEnrollable(st, o, t, f.held[k], j.now, j.override); err != nil {
			res[i].err = err
			continue
		}
		rank, err := pickRank(o, j.in.Rank, f.held[k])
		if err != nil {
			res[i].err = err
			continue
		}
		e := Enrollment{StudentID: st.ID, OfferingID: o.ID, SchoolID: o.SchoolID, TermID: o.TermID, Rank: rank,
			AppliedBy: j.in.Actor.UserID, CreatedAt: j.now, UpdatedAt: j.now}
		switch {
		case isApplication(o):
			e.Status = StatusApplied
			row.Applied++
			row.moved.applied++
		case row.Enrolled < row.Capacity:
			e.Status = StatusEnrolled
			row.Enrolled++
			row.moved.enrolled++
		case row.Waitlist:
			row.Waitlisted++
			row.moved.waitlisted++
			pos := row.Waitlisted
			e.Status, e.WaitlistPosition = StatusWaitlisted, &pos
		default:
			res[i].err = ErrFull
			continue
		}
		res[i].e = e
		j.o = o // the confirmation names the offering as decided
		f.held[k] = append(f.held[k], Held{OfferingID: o.ID, Status: e.Status, Rank: rank, Kind: o.Kind,
			Weekdays: o.Weekdays, StartMin: o.StartMin, EndMin: o.EndMin})
		taken = append(taken, i)
	}
	return taken
}

// batchWrite gathers the columns a batch writes: the offerings' counters,
// the enrollments, the guardians' confirmations (notes) and the
// Idempotency-Key answers.
type batchWrite struct {
	counterID, counterEnrolled, counterWaitlisted, counterApplied []int64
	id, sid, oid, school, term, by                                []int64
	status                                                        []string
	pos, rank                                                     []int64
	at, holdUntil                                                 []time.Time
	noteStudent                                                   []int64
	noteEvent, notePayload, noteKind                              []string
	answerUser                                                    []int64
	answerKey, answerHash, answerBody                             []string
	answerStatus                                                  []int64
	answerAt, answerExpires                                       []time.Time
	// The held and priced seats' orders and their first ledger rows
	// (openBatchOrders).
	orderEnrollment, orderSchool, orderTerm, orderOffering, orderStudent []int64
	orderUnit, orderSessions, orderGross, orderWaiverFen, orderAmount    []int64
	orderBilling, orderBillsFrom, orderWaiver, orderStatus               []string
	orderAt                                                              []time.Time
	moveEnrollment, moveAmount                                           []int64
	moveKind, moveExternal, moveReason                                   []string
	moveAt                                                               []time.Time
}

func (w *batchWrite) add(j *enrollJob, e Enrollment) error {
	w.id = append(w.id, e.ID)
	w.sid = append(w.sid, e.StudentID)
	w.oid = append(w.oid, e.OfferingID)
	w.school = append(w.school, e.SchoolID)
	w.term = append(w.term, e.TermID)
	w.status = append(w.status, string(e.Status))
	pos := 0
	if e.WaitlistPosition != nil {
		pos = *e.WaitlistPosition
	}
	w.pos = append(w.pos, int64(pos))
	w.rank = append(w.rank, int64(e.Rank))
	w.by = append(w.by, e.AppliedBy)
	w.at = append(w.at, e.CreatedAt)
	until := e.CreatedAt
	if e.Status == StatusPendingPayment && e.HoldExpiresAt != nil {
		until = *e.HoldExpiresAt
	}
	w.holdUntil = append(w.holdUntil, until)
	if e.Status == StatusEnrolled || e.Status == StatusWaitlisted || e.Status == StatusPendingPayment {
		kind, event := NotifyEnrollmentConfirmed, fmt.Sprintf("enrolled:enrollment:%d", e.ID)
		if e.Status == StatusWaitlisted {
			kind, event = NotifyWaitlisted, fmt.Sprintf("waitlisted:enrollment:%d", e.ID)
		}
		p, err := json.Marshal(enrollmentPayload(j.st, j.o, e))
		if err != nil {
			return err
		}
		w.noteStudent = append(w.noteStudent, e.StudentID)
		w.noteEvent = append(w.noteEvent, event)
		w.notePayload = append(w.notePayload, string(p))
		w.noteKind = append(w.noteKind, kind)
	}
	if j.in.IdempotencyKey != "" {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		w.answerUser = append(w.answerUser, e.AppliedBy)
		w.answerKey = append(w.answerKey, j.in.IdempotencyKey)
		w.answerHash = append(w.answerHash, j.hash)
		w.answerStatus = append(w.answerStatus, idempotentStatus)
		w.answerBody = append(w.answerBody, string(b))
		w.answerAt = append(w.answerAt, j.now)
		w.answerExpires = append(w.answerExpires, j.now.Add(IdempotencyTTL))
	}
	return nil
}
