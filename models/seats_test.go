package models_test

import (
	"testing"

	"kehou/models"
)

// TestEnrollBatchStatements: a batch sends the same fixed number of
// statements whatever it decides — seats, a waitlist place, a refusal, two
// offerings — so moving its counters through seats.go costs the rush's hot
// path nothing. The numbers are the batch's inside its transaction (BEGIN
// and COMMIT aside), measured before the seats moved to seats.go.
func TestEnrollBatchStatements(t *testing.T) {
	db := mustDB(t)
	w := newWorld(t, db, 2)
	a := w.offering(func(n *models.NewOffering) { n.Capacity = 2 })
	b := w.offering(func(n *models.NewOffering) { n.Name = "美术社"; n.Weekdays = []int{2} })
	ss := w.students(4)
	admin := w.admin.Actor()
	in := func(s models.Student, o models.Offering) models.NewEnrollment {
		return models.NewEnrollment{Actor: admin, StudentID: s.ID, OfferingID: o.ID}
	}
	n, errs := models.BatchStatements(w.ctx, db, []models.NewEnrollment{
		in(ss[0], a), in(ss[1], a), in(ss[2], a), // two seats, a waitlist place
		in(ss[0], a), // already enrolled
		in(ss[3], b), // a seat in another offering
	})
	for i, err := range errs {
		if (i == 3) != (err != nil) {
			t.Errorf("member %d: %v", i, err)
		}
	}
	want := 8
	if db.Dialect == models.Postgres {
		want = 3
	}
	if n != want {
		t.Errorf("the batch sent %d statements, want %d", n, want)
	}
	if e, q := checkInvariants(t, db, a.ID); e != 2 || q != 1 {
		t.Errorf("offering a: enrolled %d waitlisted %d, want 2 and 1", e, q)
	}
}
