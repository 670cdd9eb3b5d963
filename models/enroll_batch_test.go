package models_test

import (
	"errors"
	"math/rand/v2"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestEnrollBatch runs enrollments that would share one batch in one batch
// on purpose, on either engine: members are decided in arrival order against the
// rows and against what the batch already gave the same student, counters
// and waitlist positions continue from the locked row, the guardians are
// notified of seats only, and a member whose Idempotency-Key is already
// stored sends the batch member by member without writing twice.
func TestEnrollBatch(t *testing.T) {
	db := mustDB(t)
	w := newWorld(t, db, 1)
	a := w.offering(func(n *models.NewOffering) { n.Capacity = 1 })
	b := w.offering(func(n *models.NewOffering) { n.Name = "美术社"; n.Capacity = 1 })
	noWait := false
	c := w.offering(func(n *models.NewOffering) {
		n.Name = "古琴社"
		n.Capacity = 1
		n.Waitlist = &noWait
		n.Weekdays = []int{1}
	})
	ss := w.students(7)
	p := modelstest.Parent(t, db, ss[0].ID, ss[4].ID)
	// b is full and has one waiting before the batch: the batch's place in
	// its waitlist is 2.
	for _, s := range []models.Student{ss[5], ss[3]} {
		if _, err := w.enroll(w.admin.Actor(), s.ID, b.ID); err != nil {
			t.Fatal(err)
		}
	}

	admin := w.admin.Actor()
	in := func(act models.Actor, s models.Student, o models.Offering) models.NewEnrollment {
		return models.NewEnrollment{Actor: act, StudentID: s.ID, OfferingID: o.ID}
	}
	got, errs, split := models.EnrollAsOneBatch(w.ctx, db, []models.NewEnrollment{
		in(p.Actor(), ss[0], a), // seat
		in(p.Actor(), ss[0], a), // the same again: already enrolled by the member before
		in(admin, ss[0], c),     // a second club over max_clubs = 1
		in(admin, ss[1], a),     // waitlisted 1
		in(admin, ss[2], a),     // waitlisted 2
		in(p.Actor(), ss[4], c), // seat
		in(admin, ss[3], c),     // holds b already: over max_clubs
		in(admin, ss[2], b),     // waitlisted in a already: over max_clubs
		in(admin, ss[6], b),     // waitlisted 2
	})
	want := []struct {
		status models.EnrollmentStatus
		pos    int
		err    error
	}{
		{status: models.StatusEnrolled},
		{err: models.ErrAlreadyEnrolled},
		{err: models.ErrLimitReached},
		{status: models.StatusWaitlisted, pos: 1},
		{status: models.StatusWaitlisted, pos: 2},
		{status: models.StatusEnrolled},
		{err: models.ErrLimitReached},
		{err: models.ErrLimitReached},
		{status: models.StatusWaitlisted, pos: 2},
	}
	if split {
		t.Error("the batch ran member by member; it should have committed as one")
	}
	for i, wnt := range want {
		switch {
		case wnt.err != nil:
			if !errors.Is(errs[i], wnt.err) {
				t.Errorf("member %d: %v, want %v", i, errs[i], wnt.err)
			}
		case errs[i] != nil || got[i].Status != wnt.status || got[i].ID == 0:
			t.Errorf("member %d: %+v %v, want %s", i, got[i], errs[i], wnt.status)
		case wnt.pos > 0 && (got[i].WaitlistPosition == nil || *got[i].WaitlistPosition != wnt.pos):
			t.Errorf("member %d: position %v, want %d", i, got[i].WaitlistPosition, wnt.pos)
		}
	}
	if e, q := checkInvariants(t, db, a.ID); e != 1 || q != 2 {
		t.Fatalf("club a: enrolled %d waitlisted %d, want 1 and 2", e, q)
	}
	if e, _ := checkInvariants(t, db, c.ID); e != 1 {
		t.Fatalf("club c: enrolled %d, want 1", e)
	}
	if e, q := checkInvariants(t, db, b.ID); e != 1 || q != 2 {
		t.Fatalf("club b: enrolled %d waitlisted %d, want 1 and 2", e, q)
	}
	// The guardian of ss[0] and ss[4] is told of both seats, once each;
	// nobody is told of a waitlist place.
	var notes int64
	if err := db.R.Raw("SELECT COUNT(*) FROM outbox WHERE kind = ? AND user_id = ?", models.NotifyEnrollmentConfirmed, p.ID).
		Scan(&notes).Error; err != nil {
		t.Fatal(err)
	}
	if notes != 2 {
		t.Fatalf("guardian has %d confirmations, want 2", notes)
	}

	t.Run("storedKeySplitsTheBatch", func(t *testing.T) {
		w := newWorld(t, db, 3)
		d := w.offering(func(n *models.NewOffering) { n.Name = "足球社"; n.Weekdays = []int{3} })
		e := w.offering(func(n *models.NewOffering) { n.Name = "书法社"; n.Weekdays = []int{5} })
		ss := w.students(2)
		p := modelstest.Parent(t, db, ss[0].ID, ss[1].ID)
		first := models.NewEnrollment{Actor: p.Actor(), StudentID: ss[0].ID, OfferingID: e.ID, IdempotencyKey: "k-old"}
		if _, err := models.Enroll(w.ctx, db, first); err != nil {
			t.Fatal(err)
		}
		reused := first
		reused.OfferingID = d.ID // the stored key, another request
		fresh := models.NewEnrollment{Actor: p.Actor(), StudentID: ss[1].ID, OfferingID: d.ID, IdempotencyKey: "k-new"}
		got, errs, split := models.EnrollAsOneBatch(w.ctx, db, []models.NewEnrollment{fresh, reused})
		if !split {
			t.Error("a stored key in the way must send the batch member by member")
		}
		if errs[0] != nil || got[0].Status != models.StatusEnrolled {
			t.Fatalf("fresh member: %+v %v", got[0], errs[0])
		}
		if !errors.Is(errs[1], models.ErrIdempotencyReused) {
			t.Fatalf("reused key: %+v %v, want %v", got[1], errs[1], models.ErrIdempotencyReused)
		}
		if n, _ := checkInvariants(t, db, d.ID); n != 1 {
			t.Fatalf("club d: enrolled %d, want 1 (the reused key wrote nothing)", n)
		}
		var rows int64
		if err := db.R.Raw("SELECT COUNT(*) FROM idempotency_keys WHERE user_id = ?", p.ID).Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if rows != 2 {
			t.Fatalf("%d stored answers, want 2", rows)
		}
	})
}

// TestEnrollBatchFailures: a batch whose write fails on the engine (a
// member applied by a user that does not exist breaks a foreign key) or
// whose decision panics runs again member by member, so each caller gets
// its own answer: the others are enrolled, the failing member gets the
// engine's error and nothing written, the panicking member its panic back.
func TestEnrollBatchFailures(t *testing.T) {
	db := mustDB(t)
	w := newWorld(t, db, 1)
	a := w.offering(func(n *models.NewOffering) { n.Capacity = 10 })
	ss := w.students(6)
	admin := w.admin.Actor()
	ghost := admin
	ghost.UserID = 1 << 40 // no such user: enrollments.applied_by's foreign key fails
	in := func(act models.Actor, s models.Student) models.NewEnrollment {
		return models.NewEnrollment{Actor: act, StudentID: s.ID, OfferingID: a.ID}
	}
	models.ObserveDecide(db, func(in models.NewEnrollment) {
		if in.StudentID == ss[4].ID {
			panic("boom")
		}
	})
	defer models.ObserveDecide(db, nil)
	got, errs, split := models.EnrollAsOneBatch(w.ctx, db, []models.NewEnrollment{
		in(admin, ss[0]), in(ghost, ss[1]), in(admin, ss[2]), in(admin, ss[2]), in(admin, ss[4]), in(admin, ss[5]),
	})
	if !split {
		t.Error("a failed batch must run member by member")
	}
	for _, i := range []int{0, 2, 5} {
		if errs[i] != nil || got[i].Status != models.StatusEnrolled {
			t.Errorf("member %d: %+v %v, want enrolled", i, got[i], errs[i])
		}
	}
	var domain *models.Error
	if errs[1] == nil || errors.As(errs[1], &domain) {
		t.Errorf("member 1 (ghost user): %v, want the engine's error", errs[1])
	}
	if !errors.Is(errs[3], models.ErrAlreadyEnrolled) {
		t.Errorf("member 3 (again): %v, want %v", errs[3], models.ErrAlreadyEnrolled)
	}
	if v, ok := models.PanicValue(errs[4]); !ok || v != "boom" {
		t.Errorf("member 4: %v, want the panic back", errs[4])
	}
	if e, q := checkInvariants(t, db, a.ID); e != 3 || q != 0 {
		t.Fatalf("enrolled %d waitlisted %d, want 3 and 0 (only the successful members written)", e, q)
	}
}

// TestEnrollBatchMatchesOneByOne: a batch decides exactly as its requests
// would be decided one at a time, in arrival order. Two identical schools
// (small clubs with and without a waitlist, two that overlap, a lottery, a
// basic service; max_clubs 2) get the same 60 random requests: one school as
// one batch, the other one request at a time. Every answer, waitlist
// position and rank must be the same.
func TestEnrollBatchMatchesOneByOne(t *testing.T) {
	db := mustDB(t)
	type school struct {
		w    *world
		offs []models.Offering
		ss   []models.Student
	}
	build := func() school {
		w := newWorld(t, db, 2)
		noWait := false
		offs := []models.Offering{
			w.offering(func(n *models.NewOffering) { n.Name = "A"; n.Capacity = 2 }), // Tue, Thu 16:30–18:00
			w.offering(func(n *models.NewOffering) { n.Name = "B"; n.Capacity = 1; n.Waitlist = &noWait; n.Weekdays = []int{1} }),
			w.offering(func(n *models.NewOffering) { // overlaps A on Tuesdays
				n.Name, n.Capacity, n.Weekdays, n.StartTime, n.EndTime = "C", 3, []int{2}, "17:00", "18:30"
			}),
			w.offering(func(n *models.NewOffering) {
				n.Name = "D"
				n.Capacity = 2
				n.Mode = models.ModeLottery
				n.Weekdays = []int{5}
			}),
			w.offering(func(n *models.NewOffering) {
				n.Name, n.Kind, n.Capacity, n.Weekdays, n.StartTime, n.EndTime = "E", models.KindBasic, 4, []int{1, 2, 3, 4, 5}, "15:30", "16:30"
			}),
		}
		return school{w, offs, w.students(12)}
	}
	a, b := build(), build()
	rng := rand.New(rand.NewPCG(20261122, 6))
	type req struct{ s, o int }
	reqs := make([]req, 60)
	for i := range reqs {
		reqs[i] = req{rng.IntN(len(a.ss)), rng.IntN(len(a.offs))}
	}
	in := func(s school, r req) models.NewEnrollment {
		return models.NewEnrollment{Actor: s.w.admin.Actor(), StudentID: s.ss[r.s].ID, OfferingID: s.offs[r.o].ID}
	}
	batch := make([]models.NewEnrollment, len(reqs))
	for i, r := range reqs {
		batch[i] = in(a, r)
	}
	got, errs, split := models.EnrollAsOneBatch(a.w.ctx, db, batch)
	if split {
		t.Error("the batch ran member by member; it should have committed as one")
	}
	code := func(err error) string {
		var me *models.Error
		var ve *models.ValidationError
		switch {
		case err == nil:
			return ""
		case errors.As(err, &me):
			return me.Code
		case errors.As(err, &ve):
			return "validation"
		}
		return err.Error()
	}
	pos := func(e models.Enrollment) int {
		if e.WaitlistPosition == nil {
			return 0
		}
		return *e.WaitlistPosition
	}
	kinds := map[string]int{}
	for i, r := range reqs {
		e, err := models.Enroll(b.w.ctx, db, in(b, r))
		if code(err) != code(errs[i]) || e.Status != got[i].Status || pos(e) != pos(got[i]) || e.Rank != got[i].Rank {
			t.Errorf("request %d (student %d → %s): batch %q %s pos %d rank %d; one by one %q %s pos %d rank %d", i, r.s,
				a.offs[r.o].Name, code(errs[i]), got[i].Status, pos(got[i]), got[i].Rank, code(err), e.Status, pos(e), e.Rank)
		}
		kinds[code(err)+string(e.Status)]++
	}
	// The requests must have exercised every path, or the comparison says
	// little.
	for _, k := range []string{string(models.StatusEnrolled), string(models.StatusWaitlisted), string(models.StatusApplied), "full", "already_enrolled",
		"limit_reached", "schedule_conflict"} {
		if kinds[k] == 0 {
			t.Errorf("no request ended %q (%v): choose another seed", k, kinds)
		}
	}
	for _, s := range []school{a, b} {
		for _, o := range s.offs {
			checkInvariants(t, db, o.ID)
		}
	}
}
