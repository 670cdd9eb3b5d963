package models

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Enrollment is a student's place (or wish for one) in an offering, with
// the consent record: who applied and when. Its JSON is the stored answer
// replayed for an Idempotency-Key.
type Enrollment struct {
	ID               int64            `gorm:"primaryKey" json:"id"`
	StudentID        int64            `gorm:"column:student_id" json:"student_id"`
	OfferingID       int64            `gorm:"column:offering_id" json:"offering_id"`
	SchoolID         int64            `gorm:"column:school_id" json:"school_id"`
	TermID           int64            `gorm:"column:term_id" json:"term_id"`
	Status           EnrollmentStatus `gorm:"column:status" json:"status"`
	WaitlistPosition *int             `gorm:"column:waitlist_position" json:"waitlist_position,omitempty"`
	Rank             int              `gorm:"column:rank" json:"rank"`
	AppliedBy        int64            `gorm:"column:applied_by" json:"applied_by"`
	CreatedAt        time.Time        `gorm:"column:created_at" json:"created_at"`
	UpdatedAt        time.Time        `gorm:"column:updated_at" json:"-"`
	WithdrawnBy      *int64           `gorm:"column:withdrawn_by" json:"withdrawn_by,omitempty"`
	WithdrawnAt      *time.Time       `gorm:"column:withdrawn_at" json:"withdrawn_at,omitempty"`
	// HoldExpiresAt is when a pending_payment seat is released unpaid;
	// HeldAt when it was held, EnrolledAt when it became enrolled (nil:
	// at updated_at, for rows from before the hold).
	HoldExpiresAt *time.Time `gorm:"column:hold_expires_at" json:"hold_expires_at,omitempty"`
	HeldAt        *time.Time `gorm:"column:held_at" json:"-"`
	EnrolledAt    *time.Time `gorm:"column:enrolled_at" json:"-"`
	UnpaidRelease bool       `gorm:"column:unpaid_release" json:"-"`
	// OrderID and AmountFen name the seat's order (set when it has one).
	OrderID   *int64 `gorm:"-" json:"order_id,omitempty"`
	AmountFen *int64 `gorm:"-" json:"amount_fen,omitempty"`
	// WithdrawReason says why a withdrawn enrollment was withdrawn
	// (WithdrawnByParent, WithdrawnBySchool, WithdrawnOfferingCancelled).
	WithdrawReason *string `gorm:"column:withdraw_reason" json:"withdraw_reason,omitempty"`
	// Replayed is set when the answer is an Idempotency-Key replay.
	Replayed bool `gorm:"-" json:"-"`
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

// replayError carries a stored answer out of a rolled-back transaction.
type replayError struct{ e Enrollment }

func (replayError) Error() string { return "idempotent replay" }

// Enroll enrolls a student (SPEC rules 1–9). The steps, in order
// (docs/enrollment.md walks through them):
//
//  0. for a parent, syncLinks retires the cached children when another
//     instance removed a guardian link (link_version, read at most every
//     LinkPoll);
//  1. a parent's request for a club known to be sold out is answered from
//     memory (soldOutAnswer);
//  2. admission: a slot of the write path, or ErrBusy at once;
//  3. the pre-checks (precheckEnroll) on cached facts — the parent's
//     children, the offering and its term — so most refusals never queue
//     for the writer;
//  4. the enrollment batch (enroll_batch.go): in one write transaction
//     shared with the enrollments waiting at that moment, the student, the
//     guardian's link, the offering and its term and the student's live
//     enrollments are read fresh, every rule is checked again against them
//     (CheckEnrollable), a seat, a gapless waitlist position or a lottery
//     application is taken from the offering's counters (never past
//     capacity), and the rows, the guardians' confirmations and the
//     Idempotency-Key answer are written — all or nothing;
//  5. a refusal looks up the Idempotency-Key (refused): a stored answer
//     means the enrollment exists (the key is stored in its transaction),
//     so a retry is refused as already enrolled — or, after a withdrawal,
//     collides with the key — and then replays the stored answer.
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
		// the answers below start from (links_remove.go).
		if err := db.syncLinks(ctx); err != nil {
			return Enrollment{}, err
		}
	}
	if err := db.soldOutAnswer(ctx, in, now); err != nil {
		return Enrollment{}, err
	}
	// Admission comes before any query, so a shed request costs next to
	// nothing.
	release, err := db.enroll.admit()
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
	j, err := precheckEnroll(ctx, db, in, now)
	if err != nil {
		return refused(err)
	}
	e, err := db.enroll.run(db, j)
	var re replayError
	if errors.As(err, &re) {
		return re.e, nil
	}
	if err != nil {
		return refused(err)
	}
	return e, nil
}

// enrollmentPayload is the template values of an enrollment's message: a
// waitlist place says its position.
func enrollmentPayload(st Student, o Offering, e Enrollment) map[string]string {
	p := map[string]string{"student": st.Name, "offering": o.Name, "status": StatusPhrase(e.Status),
		"time": FormatClock(o.StartMin) + "-" + FormatClock(o.EndMin), "enrollment_id": fmt.Sprint(e.ID),
		// The guardian who tapped saw the answer on screen: their copy stays
		// in the inbox (CausedBy) and spends no WeChat consent.
		"actor_id": fmt.Sprint(e.AppliedBy)}
	if e.WaitlistPosition != nil {
		p["position"] = fmt.Sprint(*e.WaitlistPosition)
		p["note"] = fmt.Sprintf("候补第%d位，有空位时自动转正", *e.WaitlistPosition)
	}
	if note := holdNote(e); note != "" && e.Status == StatusPendingPayment {
		p["note"], p["detail"] = note, holdDetail(e)
	}
	return p
}

// precheckEnroll finds the student and the offering and checks the rules
// that do not depend on the student's other enrollments, so most refusals
// never queue for the writer; it returns the enrollment's batch job. A
// parent's child and the offering come from the caches (cache.go): a stale
// cached fact can delay an answer by the cache's TTL, never decide a seat —
// the batch reads every fact again in its transaction.
func precheckEnroll(ctx context.Context, db *DB, in NewEnrollment, now time.Time) (*enrollJob, error) {
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
		return nil, err
	}
	o, t, err := db.cachedOffering(ctx, in.OfferingID)
	if errors.Is(err, ErrNotFound) {
		return nil, errOfferingUnavailable
	}
	if err != nil {
		return nil, err
	}
	if o.SchoolID != st.SchoolID {
		// The caller sees this offering as it would on its own school's
		// list, or it does not exist for them.
		if err := offeringVisible(ctx, db, in.Actor, o); err != nil {
			return nil, err
		}
		return nil, ErrSchoolMismatch
	}
	if !in.Actor.IsStaff() && !parentVisible(o.Status) {
		// A parent does not see drafts or cancelled offerings (see
		// FindOfferingFor), so enrolling in one must not reveal it either.
		return nil, errOfferingUnavailable
	}
	// Only a linked guardian, the school's staff or a platform admin got
	// here; the staff among them may override the window.
	override := in.Actor.IsStaff()
	if err := CheckEnrollable(st, o, t, nil, now, override); err != nil {
		return nil, err
	}
	if _, err := pickRank(o, in.Rank, nil); err != nil {
		return nil, err
	}
	j := &enrollJob{ctx: ctx, in: in, now: now, st: st, o: o, t: t, override: override}
	if in.IdempotencyKey != "" {
		j.hash = requestHash(in)
	}
	return j, nil
}

// offeringVisible answers errOfferingUnavailable unless a may see offering
// o (canSeeSchoolOfferings: the school's staff, or a parent with a child in
// the school for a published or closed offering), so enrolling into an
// offering reveals no more than reading it.
func offeringVisible(ctx context.Context, db *DB, a Actor, o Offering) error {
	staff, err := canSeeSchoolOfferings(ctx, db, a, o.SchoolID)
	if errors.Is(err, ErrNotFound) || (err == nil && !staff && !parentVisible(o.Status)) {
		return errOfferingUnavailable
	}
	return err
}

// findOfferingWithTerm loads an offering and its term in one query.
func findOfferingWithTerm(ctx context.Context, db *DB, id int64) (Offering, Term, error) {
	var r struct {
		Offering
		TermSchoolID int64  `gorm:"column:term_school_id"`
		TermName     string `gorm:"column:term_name"`
		TermStartsOn string `gorm:"column:term_starts_on"`
		TermEndsOn   string `gorm:"column:term_ends_on"`
		TermMaxClubs int    `gorm:"column:term_max_clubs"`
	}
	err := scanOne(db.Read(ctx).Raw(`SELECT o.*, t.school_id AS term_school_id, t.name AS term_name, t.starts_on AS term_starts_on,
		t.ends_on AS term_ends_on, t.max_clubs AS term_max_clubs
		FROM offerings o JOIN terms t ON t.id = o.term_id WHERE o.id = ?`, id), &r)
	if err != nil {
		return Offering{}, Term{}, err
	}
	return r.Offering, Term{ID: r.TermID, SchoolID: r.TermSchoolID, Name: r.TermName, StartsOn: r.TermStartsOn,
		EndsOn: r.TermEndsOn, MaxClubs: r.TermMaxClubs}, nil
}

// StudentEnrollment is one enrollment of a student with its offering's
// name, kind and slot.
type StudentEnrollment struct {
	Enrollment
	OfferingName string `gorm:"column:offering_name"`
	Kind         string `gorm:"column:kind"`
	Weekdays     int    `gorm:"column:weekdays"`
	StartMin     int    `gorm:"column:start_min"`
	EndMin       int    `gorm:"column:end_min"`
}

// FindStudentEnrollments lists a student's enrollments, newest first, with
// ids below before (0: from the newest), at most limit, for a linked
// guardian or the school's staff (others get ErrNotFound).
func FindStudentEnrollments(ctx context.Context, db *DB, a Actor, studentID, before int64, limit int) ([]StudentEnrollment, error) {
	st, err := FindStudentFor(ctx, db, a, studentID)
	if err != nil {
		return nil, err
	}
	out := []StudentEnrollment{}
	err = db.Read(ctx).Raw(`SELECT e.*, o.name AS offering_name, o.kind, o.weekdays, o.start_min, o.end_min
		FROM enrollments e JOIN offerings o ON o.id = e.offering_id
		WHERE e.student_id = ? AND (? = 0 OR e.id < ?) ORDER BY e.id DESC LIMIT ?`, studentID, before, before, limit).Scan(&out).Error
	if err != nil {
		return nil, err
	}
	// A family that never accepted the subscribe message learns of its
	// hold here: each seat's order and amount.
	ids := make([]int64, len(out))
	for i, e := range out {
		ids[i] = e.ID
	}
	orders, err := FindEnrollmentOrders(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if o, ok := orders[out[i].ID]; ok {
			out[i].OrderID, out[i].AmountFen = &o.ID, &o.AmountFen
		}
	}
	if a.IsStaff() {
		LogStaffAccess(ctx, db, a, "list_student_enrollments", st.SchoolID, fmt.Sprintf("student:%d", studentID))
	}
	return out, nil
}
