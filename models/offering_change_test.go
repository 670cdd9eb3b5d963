package models_test

import (
	"errors"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestPatchPublishedChecksEnrolled: a change of a published offering's
// time, weekdays or grades is checked against the students in it: 409 with
// the students it breaks a rule for, or, forced, kept with their families
// notified.
func TestPatchPublishedChecksEnrolled(t *testing.T) {
	intp := func(v []int) *[]int { return &v }
	str := func(s string) *string { return &s }
	cases := []struct {
		name   string
		in     models.UpdateOffering
		reason string // "" : no conflict
	}{
		{"gradesConflict", models.UpdateOffering{Grades: intp([]int{5, 6})}, "grade_not_eligible"},
		{"timeConflict", models.UpdateOffering{Weekdays: intp([]int{1}), StartTime: str("16:00"), EndTime: str("17:00")}, "schedule_conflict"},
		{"timeFree", models.UpdateOffering{Weekdays: intp([]int{3})}, ""},
		{"nameOnlyNotChecked", models.UpdateOffering{Name: str("足球社"), Grades: intp([]int{1, 2, 3, 4, 5, 6})}, ""},
	}
	for _, c := range cases {
		for _, force := range []bool{false, true} {
			name := c.name
			if force {
				name += "Forced"
			}
			t.Run(name, func(t *testing.T) {
				db := modelstest.MustOpenDB(t)
				w := newWorld(t, db, 3)
				monday := w.offering(func(in *models.NewOffering) { in.Weekdays = []int{1} })
				o := w.offering(nil) // Tue, Thu 16:30-18:00, grades 1-6
				st := w.students(1)[0]
				parent := modelstest.Parent(t, db, st.ID)
				for _, id := range []int64{monday.ID, o.ID} {
					if _, err := w.enroll(w.admin.Actor(), st.ID, id); err != nil {
						t.Fatal(err)
					}
				}
				in := c.in
				in.Force = force
				_, err := models.PatchOffering(w.ctx, db, w.admin.Actor(), o.ID, in)
				var ce *models.EnrolledConflictsError
				var notes int64
				db.R.Raw("SELECT COUNT(*) FROM outbox WHERE kind = ? AND user_id = ?", models.NotifyOfferingChanged, parent.ID).Scan(&notes)
				switch {
				case c.reason == "":
					if err != nil || notes != 0 {
						t.Fatalf("err = %v, notes = %d; want the change kept, no notes", err, notes)
					}
				case !force:
					if !errors.As(err, &ce) || !errors.Is(err, models.ErrEnrolledConflicts) || len(ce.Conflicts) != 1 ||
						ce.Conflicts[0].StudentID != st.ID || ce.Conflicts[0].Reason != c.reason {
						t.Fatalf("err = %v (%+v), want enrolled_conflicts for the student (%s)", err, ce, c.reason)
					}
					if got := w.offeringNow(o.ID); got.Weekdays != o.Weekdays || got.Grades != o.Grades {
						t.Fatal("a refused change was written")
					}
				default:
					if err != nil || notes != 1 {
						t.Fatalf("forced: err = %v, notes = %d; want the change kept and the family told", err, notes)
					}
				}
			})
		}
	}
}
