package models

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Enrollment statuses. Live ones hold (or wait for) a seat.
const (
	StatusEnrolled   = "enrolled"
	StatusWaitlisted = "waitlisted"
	StatusApplied    = "applied"
	StatusWithdrawn  = "withdrawn"
	StatusRejected   = "rejected"
)

var liveStatuses = []string{StatusEnrolled, StatusWaitlisted, StatusApplied}

// Errors of enrollment beyond the shared ones in errors.go.
var (
	ErrNotOpen             = E(KindConflict, "not_open", "该项目未开放报名")
	ErrStudentInactive     = E(KindInvalid, "student_inactive", "该学生已不在籍")
	ErrNotLive             = E(KindConflict, "not_live", "该报名已退出或未录取")
	ErrIdempotencyReused   = E(KindInvalid, "idempotency_key_reused", "Idempotency-Key 已用于另一个请求")
	ErrBadIdempotencyKey   = E(KindBadRequest, "bad_idempotency_key", "Idempotency-Key 须为1-100个可见字符")
	errOfferingUnavailable = E(KindNotFound, "not_found", "项目不存在")
)

// Enrollment is a student's place (or wish for one) in an offering, with
// the consent record: who applied and when. Its JSON is the stored answer
// replayed for an Idempotency-Key.
type Enrollment struct {
	ID               int64      `gorm:"primaryKey" json:"id"`
	StudentID        int64      `gorm:"column:student_id" json:"student_id"`
	OfferingID       int64      `gorm:"column:offering_id" json:"offering_id"`
	SchoolID         int64      `gorm:"column:school_id" json:"school_id"`
	TermID           int64      `gorm:"column:term_id" json:"term_id"`
	Status           string     `gorm:"column:status" json:"status"`
	WaitlistPosition *int       `gorm:"column:waitlist_position" json:"waitlist_position,omitempty"`
	Rank             int        `gorm:"column:rank" json:"rank"`
	AppliedBy        int64      `gorm:"column:applied_by" json:"applied_by"`
	CreatedAt        time.Time  `gorm:"column:created_at" json:"created_at"`
	UpdatedAt        time.Time  `gorm:"column:updated_at" json:"-"`
	WithdrawnBy      *int64     `gorm:"column:withdrawn_by" json:"withdrawn_by,omitempty"`
	WithdrawnAt      *time.Time `gorm:"column:withdrawn_at" json:"withdrawn_at,omitempty"`
	// Replayed is set when the answer is an Idempotency-Key replay.
	Replayed bool `gorm:"-" json:"-"`
}

// Held is one live enrollment of a student in a term, with the slot of its
// offering: what CheckEnrollable compares a new enrollment against.
type Held struct {
	OfferingID int64  `gorm:"column:offering_id"`
	Status     string `gorm:"column:status"`
	Rank       int    `gorm:"column:rank"`
	Kind       string `gorm:"column:kind"`
	Weekdays   int    `gorm:"column:weekdays"`
	StartMin   int    `gorm:"column:start_min"`
	EndMin     int    `gorm:"column:end_min"`
}

// applies reports whether enrolling in o now files a lottery application
// (before its draw) rather than taking a seat.
func applies(o Offering) bool { return o.Mode == ModeLottery && o.DrawnAt == nil }

// CheckEnrollable applies SPEC's enrollment rules that do not depend on the
// seat count: the student is of the offering's school and active (rule 3 is
// the caller's scope check), holds no live enrollment in it (rule 2), the
// offering is published, the grade is eligible and the window open unless
// staffOverride (rule 4), a club does not overlap an enrolled club (rule 5)
// and does not exceed the term's max clubs (rule 6). existing are the
// student's live enrollments in the offering's term.
//
// Rule 6 counts enrolled and waitlisted clubs, plus one for any pending
// lottery applications: a draw gives an applicant at most one of the clubs
// ranked, so ranking several costs one place, not several. Basic offerings
// never count. Rule 5 is checked against enrolled clubs only (a waitlisted
// club holds no slot yet; promotion re-checks it).
func CheckEnrollable(st Student, o Offering, t Term, existing []Held, now time.Time, staffOverride bool) error {
	switch {
	case o.SchoolID != st.SchoolID:
		return errOfferingUnavailable
	case !st.Active:
		return ErrStudentInactive
	}
	for _, h := range existing {
		if h.OfferingID == o.ID {
			return ErrAlreadyEnrolled
		}
	}
	switch {
	case o.Status != OfferingPublished:
		return ErrNotOpen
	case st.Grade < 1 || st.Grade > 9 || o.Grades&(1<<st.Grade) == 0:
		return ErrGradeNotEligible
	case !staffOverride && (now.Before(o.EnrollOpensAt) || !now.Before(o.EnrollClosesAt)):
		return ErrWindowClosed
	}
	if o.Kind != KindClub {
		return nil
	}
	held, applied := 0, false
	for _, h := range existing {
		if h.Kind != KindClub {
			continue
		}
		if h.Status == StatusApplied {
			applied = true
		} else {
			held++
		}
		if h.Status == StatusEnrolled && Overlaps(h.Weekdays, h.StartMin, h.EndMin, o.Weekdays, o.StartMin, o.EndMin) {
			return ErrScheduleConflict
		}
	}
	if applied {
		held++
	}
	add := 1
	if applies(o) && applied {
		add = 0
	}
	if held+add > t.MaxClubs {
		return ErrLimitReached
	}
	return nil
}

// NewEnrollment is the input of Enroll.
type NewEnrollment struct {
	Actor      Actor
	StudentID  int64
	OfferingID int64
	// Rank is the applicant's preference among its lottery applications in
	// the term (1 = first choice); nil means after the ones it has.
	Rank *int
	// IdempotencyKey, when set, makes a retry of the same request replay
	// the first answer instead of enrolling again.
	IdempotencyKey string
	// Now is the clock (zero: time.Now).
	Now time.Time
}

// IdempotencyTTL is how long an Idempotency-Key is remembered.
const IdempotencyTTL = 48 * time.Hour

// MaxRank bounds a lottery preference rank.
const MaxRank = 20

// pickRank validates or assigns a lottery rank against the student's other
// pending applications.
func pickRank(o Offering, want *int, existing []Held) (int, error) {
	if !applies(o) {
		return 0, nil
	}
	maxRank := 0
	for _, h := range existing {
		if h.Status == StatusApplied && h.Rank > maxRank {
			maxRank = h.Rank
		}
	}
	if want == nil {
		if maxRank >= MaxRank {
			return 0, &ValidationError{Fields: map[string]string{"rank": "志愿数量已达上限"}}
		}
		return maxRank + 1, nil
	}
	r := *want
	if r < 1 || r > MaxRank {
		return 0, &ValidationError{Fields: map[string]string{"rank": fmt.Sprintf("志愿顺序须为1-%d", MaxRank)}}
	}
	for _, h := range existing {
		if h.Status == StatusApplied && h.Rank == r {
			return 0, &ValidationError{Fields: map[string]string{"rank": "该志愿顺序已被其他报名使用"}}
		}
	}
	return r, nil
}

// replayError carries a stored answer out of a rolled-back transaction.
type replayError struct{ e Enrollment }

func (replayError) Error() string { return "idempotent replay" }

// Enroll enrolls a student (SPEC rules 1–9). A parent's request for a club
// known to be sold out is answered from memory (soldOutAnswer). Otherwise,
// past admission, the pre-checks run on cached facts (the parent's children,
// the offering's terms) without a query; then the write transaction reads
// the student, the offering and the student's live enrollments fresh,
// re-checks every rule against them, takes a seat (never past capacity) or a
// gapless waitlist position from the offering's counters, inserts the row
// (the partial unique index is the last word on rule 2), queues the
// confirmation and stores the Idempotency-Key answer — all or nothing. That
// transaction is shared with the other enrollments waiting at that moment,
// decided together and written by set-based statements (enroll_batch.go).
//
// An Idempotency-Key is looked up only when the request is refused: a
// stored answer means the enrollment exists (the key is stored in its
// transaction), so a retry is refused as already enrolled — or, after a
// withdrawal, collides with the key — and then replays the stored answer.
func Enroll(ctx context.Context, db *DB, in NewEnrollment) (Enrollment, error) {
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()
	key := in.IdempotencyKey
	if key != "" && !validIdempotencyKey(key) {
		return Enrollment{}, ErrBadIdempotencyKey
	}
	if in.Actor.Role == RoleParent {
		// A link removed on any instance retires the cached children
		// the answers below start from (guardian_links.go).
		if err := db.syncLinks(ctx); err != nil {
			return Enrollment{}, err
		}
	}
	if err := db.soldOutAnswer(ctx, in, now); err != nil {
		return Enrollment{}, err
	}
	// Admission comes before any query, so a shed request costs next to
	// nothing.
	release, err := db.AdmitEnroll()
	if err != nil {
		return Enrollment{}, err
	}
	defer release()
	refused := func(err error) (Enrollment, error) {
		if key != "" {
			// A request with this key may have committed before (a
			// retry) or beside this one: its answer wins.
			if e, ok, lerr := lookupIdempotent(db.Read(ctx), in.Actor.UserID, key, requestHash(in), now); ok || lerr != nil {
				return e, lerr
			}
		}
		if errors.Is(err, ErrFull) {
			db.noteSoldOut(ctx, in.OfferingID)
		}
		return Enrollment{}, err
	}
	st, o, t, override, err := precheckEnroll(ctx, db, in, now)
	if err != nil {
		return refused(err)
	}

	hash := ""
	if key != "" {
		hash = requestHash(in)
	}
	e, err := db.enrollBatched(&enrollJob{ctx: ctx, in: in, now: now, st: st, o: o, t: t, override: override, hash: hash})
	var re replayError
	if errors.As(err, &re) {
		return re.e, nil
	}
	if err != nil {
		return refused(err)
	}
	return e, nil
}

func enrollmentPayload(st Student, o Offering, e Enrollment) map[string]string {
	p := map[string]string{"student": st.Name, "offering": o.Name, "status": StatusPhrase(e.Status),
		"time": FormatClock(o.StartMin) + "-" + FormatClock(o.EndMin), "enrollment_id": fmt.Sprint(e.ID)}
	return p
}

// precheckEnroll finds the student and the offering and checks what does
// not depend on the student's other enrollments, so most refusals never
// queue for the writer. A parent's child and the offering come from the
// caches (see cache.go); the write transaction re-checks every rule and
// takes the seat with a conditional UPDATE, so a stale cached fact can
// delay an answer by the cache's TTL but never oversell.
func precheckEnroll(ctx context.Context, db *DB, in NewEnrollment, now time.Time) (Student, Offering, Term, bool, error) {
	fail := func(err error) (Student, Offering, Term, bool, error) {
		return Student{}, Offering{}, Term{}, false, err
	}
	var st Student
	var err error
	if in.Actor.Role == RoleParent {
		var ok bool
		st, ok, err = db.linkedChild(ctx, in.Actor.UserID, func(s Student) bool { return s.ID == in.StudentID })
		if err == nil && !ok {
			err = ErrNotFound
		}
	} else {
		st, err = FindStudentFor(ctx, db, in.Actor, in.StudentID)
	}
	if err != nil {
		return fail(err)
	}
	o, t, err := db.cachedOffering(ctx, in.OfferingID)
	if errors.Is(err, ErrNotFound) || (err == nil && o.SchoolID != st.SchoolID) ||
		(err == nil && !in.Actor.IsStaff() && !parentVisible(o.Status)) {
		// A parent does not see drafts or cancelled offerings (see
		// FindOfferingFor), so enrolling in one must not reveal it either.
		return fail(errOfferingUnavailable)
	}
	if err != nil {
		return fail(err)
	}
	// Only a linked guardian, the school's staff or a platform admin got
	// here; the staff among them may override the window.
	override := in.Actor.IsStaff()
	if err := CheckEnrollable(st, o, t, nil, now, override); err != nil {
		return fail(err)
	}
	if _, err := pickRank(o, in.Rank, nil); err != nil {
		return fail(err)
	}
	return st, o, t, override, nil
}

// findOfferingWithTerm loads an offering and its term in one query.
func findOfferingWithTerm(ctx context.Context, db *DB, id int64) (Offering, Term, error) {
	var rows []struct {
		Offering
		TermSchoolID int64  `gorm:"column:term_school_id"`
		TermName     string `gorm:"column:term_name"`
		TermStartsOn string `gorm:"column:term_starts_on"`
		TermEndsOn   string `gorm:"column:term_ends_on"`
		TermMaxClubs int    `gorm:"column:term_max_clubs"`
	}
	err := db.Read(ctx).Raw(`SELECT o.*, t.school_id AS term_school_id, t.name AS term_name, t.starts_on AS term_starts_on,
		t.ends_on AS term_ends_on, t.max_clubs AS term_max_clubs
		FROM offerings o JOIN terms t ON t.id = o.term_id WHERE o.id = ?`, id).Scan(&rows).Error
	if err != nil {
		return Offering{}, Term{}, err
	}
	if len(rows) == 0 {
		return Offering{}, Term{}, ErrNotFound
	}
	r := rows[0]
	return r.Offering, Term{ID: r.TermID, SchoolID: r.TermSchoolID, Name: r.TermName, StartsOn: r.TermStartsOn,
		EndsOn: r.TermEndsOn, MaxClubs: r.TermMaxClubs}, nil
}
