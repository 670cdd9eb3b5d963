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
// locked from the seat UPDATE to COMMIT). One transaction per enrollment
// paid, for every enrollment, its own commit and six or seven statements.
// Instead, batch workers (one on SQLite's single writer, two on PostgreSQL)
// each take every enrollment waiting at that moment (up to maxGroup) and
// run them as one transaction of a fixed number of set-based statements,
// whatever the batch's size:
//
//  1. read the batch's students (school, grade, active), their live
//     enrollments, and the batch's offerings with their counters, all
//     fresh; on PostgreSQL the students and then the offerings are locked
//     FOR UPDATE, each in id order, so two batches never deadlock;
//  2. decide in Go, in arrival order: every rule against the live
//     enrollments plus what the batch already gave the same student, then a
//     seat, a gapless waitlist position or a lottery application from the
//     counters (decideBatch);
//  3. write the counters, the enrollments, the guardians' confirmations and
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

func (db *DB) startEnrollBatches() {
	db.enrollQ = startBatcher(enrollBatchWorkers(db.Dialect), maxGroup, func(b []*enrollJob) { db.runEnrollBatch(b) })
}

// enrollBatched queues j for a batch and waits for its answer.
func (db *DB) enrollBatched(j *enrollJob) (Enrollment, error) {
	j.done = make(chan enrollResult, 1)
	if err := db.enrollQ.submit(j.ctx, j); err != nil {
		return Enrollment{}, err
	}
	// Once handed over, wait whatever ctx does: the work may be committed.
	r := <-j.done
	return r.e, repanic(r.err)
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
		err := retryTx(context.Background(), db, guarded(func(tx *gorm.DB) error {
			clear(res)
			return enrollBatchTx(tx, batch, res)
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
	students  map[int64]studentFacts
	held      map[termOf][]Held // live enrollments by student and term
	offerings map[int64]*lockedOffering
	ids       []int64 // one fresh enrollment id per member, in order
}

type studentFacts struct {
	school int64
	grade  int
	active bool
}

// scanStudent adds a row of (id, school_id, grade, active) to f.students.
func (f batchFacts) scanStudent(rows *sql.Rows) error {
	var id int64
	var s studentFacts
	if err := rows.Scan(&id, &s.school, &s.grade, &s.active); err != nil {
		return err
	}
	f.students[id] = s
	return nil
}

type termOf struct{ student, term int64 }

// lockedOffering is an offering's row as the batch read it (on PostgreSQL,
// locked), with the counters moved by the members decided so far.
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

// enrollBatchTx decides and writes jobs in tx, setting res[i] to the i-th
// member's enrollment or refusal. It returns an error only when the batch as
// a whole must not commit.
func enrollBatchTx(tx *gorm.DB, jobs []*enrollJob, res []enrollResult) error {
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
	if r.pg {
		read, write = readBatchPG, writeBatchPG
	}
	f, err := read(r, sids, oids, len(jobs))
	if err != nil {
		return err
	}
	if len(f.ids) != len(jobs) {
		return fmt.Errorf("models: drew %d enrollment ids for %d enrollments", len(f.ids), len(jobs))
	}
	taken := decideBatch(jobs, f, res)
	if len(taken) == 0 {
		return nil
	}

	var w batchWrite
	for n, i := range taken {
		e := &res[i].e
		e.ID = f.ids[n]
		if err := w.add(jobs[i], *e); err != nil {
			return err
		}
	}
	for _, id := range oids {
		if lo := f.offerings[id]; lo != nil && lo.changed {
			w.cID = append(w.cID, id)
			w.cEnrolled = append(w.cEnrolled, int64(lo.Enrolled))
			w.cWaitlisted = append(w.cWaitlisted, int64(lo.Waitlisted))
			w.cApplied = append(w.cApplied, int64(lo.Applied))
		}
	}
	stored, err := write(r, &w, time.Now().UTC())
	if err != nil {
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
	return keyInTheWay(tx, j.in.Actor.UserID, j.in.IdempotencyKey, j.hash, j.now)
}

// decideBatch decides every member in arrival order against f, moving f's
// counters and live enrollments as it goes. It sets res[i] and returns the
// members given a place, in order.
func decideBatch(jobs []*enrollJob, f batchFacts, res []enrollResult) []int {
	var taken []int
	for i, j := range jobs {
		if decideHook != nil {
			decideHook(j.in)
		}
		s, ok := f.students[j.st.ID]
		lo := f.offerings[j.o.ID]
		if !ok || lo == nil {
			res[i].err = ErrNotFound
			continue
		}
		st, o := j.st, j.o
		st.SchoolID, st.Grade, st.Active = s.school, s.grade, s.active
		o.Status, o.Mode, o.Waitlist, o.DrawnAt, o.Capacity = lo.Status, lo.Mode, lo.Waitlist, lo.DrawnAt, lo.Capacity
		k := termOf{st.ID, o.TermID}
		if err := CheckEnrollable(st, o, j.t, f.held[k], j.now, j.override); err != nil {
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
		f.held[k] = append(f.held[k], Held{OfferingID: o.ID, Status: e.Status, Rank: rank, Kind: o.Kind,
			Weekdays: o.Weekdays, StartMin: o.StartMin, EndMin: o.EndMin})
		taken = append(taken, i)
	}
	return taken
}

// decideHook, when set (by tests), sees every member as it is decided.
var decideHook func(NewEnrollment)

// batchWrite gathers the columns a batch writes.
type batchWrite struct {
	cID, cEnrolled, cWaitlisted, cApplied []int64
	id, sid, oid, school, term, by        []int64
	status                                []string
	pos, rank                             []int64
	at                                    []time.Time
	nSid                                  []int64
	nEvent, nPayload, nKind               []string
	kUser                                 []int64
	kKey, kHash, kBody                    []string
	kStatus                               []int64
	kAt, kExpires                         []time.Time
}

func (w *batchWrite) add(j *enrollJob, e Enrollment) error {
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
	if e.Status == StatusEnrolled || e.Status == StatusWaitlisted {
		kind, event := NotifyEnrollmentConfirmed, fmt.Sprintf("enrolled:enrollment:%d", e.ID)
		if e.Status == StatusWaitlisted {
			kind, event = NotifyWaitlisted, fmt.Sprintf("waitlisted:enrollment:%d", e.ID)
		}
		p, err := json.Marshal(enrollmentPayload(j.st, j.o, e))
		if err != nil {
			return err
		}
		w.nSid = append(w.nSid, e.StudentID)
		w.nEvent = append(w.nEvent, event)
		w.nPayload = append(w.nPayload, string(p))
		w.nKind = append(w.nKind, kind)
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
