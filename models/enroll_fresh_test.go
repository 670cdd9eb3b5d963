package models_test

import (
	"errors"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestEnrollRereadsInTransaction: the batch decides on facts it reads in
// its own transaction, not on the caches the pre-checks used. Each case
// warms the caches with one enrollment, changes a fact behind the caches'
// back (plain SQL: no version moves), and enrolls again.
func TestEnrollRereadsInTransaction(t *testing.T) {
	cases := []struct {
		name   string
		change string // SQL with one ? for the offering id, or the term id
		term   bool
		want   error
	}{
		{"ErrGradeNotEligible", "UPDATE offerings SET grades = 2 WHERE id = ?", false, models.ErrGradeNotEligible},
		{"ErrWindowClosed", "UPDATE offerings SET enroll_closes_at = enroll_opens_at WHERE id = ?", false, models.ErrWindowClosed},
		{"ErrLimitReached", "UPDATE terms SET max_clubs = 1 WHERE id = ?", true, models.ErrLimitReached},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := modelstest.MustOpenDB(t)
			w := newWorld(t, db, 3)
			first := w.offering(nil)
			o := w.offering(func(in *models.NewOffering) { in.Weekdays = []int{1} })
			ss := w.students(2)
			parent := modelstest.Parent(t, db, ss[0].ID, ss[1].ID)
			if _, err := w.enroll(parent.Actor(), ss[0].ID, o.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := w.enroll(parent.Actor(), ss[1].ID, first.ID); err != nil {
				t.Fatal(err)
			}
			id := o.ID
			if c.term {
				id = w.term.ID
			}
			if err := db.W.Exec(c.change, id).Error; err != nil {
				t.Fatal(err)
			}
			if _, err := w.enroll(parent.Actor(), ss[1].ID, o.ID); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			checkInvariants(t, db, o.ID)
		})
	}
}

// TestEnrollRechecksGuardianLink: a removed guardian link stops the
// parent's enrollments at once, though its children are still cached.
func TestEnrollRechecksGuardianLink(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	w := newWorld(t, db, 3)
	a := w.offering(nil)
	b := w.offering(func(in *models.NewOffering) { in.Weekdays = []int{1} })
	ss := w.students(1)
	parent := modelstest.Parent(t, db, ss[0].ID)
	if _, err := w.enroll(parent.Actor(), ss[0].ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.W.Exec("DELETE FROM parent_students WHERE user_id = ?", parent.ID).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := w.enroll(parent.Actor(), ss[0].ID, b.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("err = %v, want not_found", err)
	}
	if got := w.offeringNow(b.ID).EnrolledCount; got != 0 {
		t.Fatalf("enrolled = %d after the link was removed", got)
	}
}

// TestEnrollPipelineStarts: opening and migrating a database starts no
// enrollment workers (migrate, backup and user add never enroll); the first
// enrollment starts them; after Close an enrollment is refused.
func TestEnrollPipelineStarts(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	if models.EnrollmentsStarted(db) {
		t.Fatal("workers started by Open")
	}
	w := newWorld(t, db, 3)
	o := w.offering(nil)
	st := w.students(1)[0]
	if _, err := w.enroll(w.admin.Actor(), st.ID, o.ID); err != nil {
		t.Fatal(err)
	}
	if !models.EnrollmentsStarted(db) {
		t.Fatal("no workers after an enrollment")
	}
	db.Close()
	if _, err := w.enroll(w.admin.Actor(), st.ID+1, o.ID); err == nil {
		t.Fatal("enrolled on a closed database")
	}
}
