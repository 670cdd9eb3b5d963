package models_test

import (
	"errors"
	"strings"
	"testing"
	"time"

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
		told   int64  // CHANGED messages to the family when the change stands
	}{
		{"gradesConflict", models.UpdateOffering{Grades: intp([]int{5, 6})}, "grade_not_eligible", 1},
		{"timeConflict", models.UpdateOffering{Weekdays: intp([]int{1}), StartTime: str("16:00"), EndTime: str("17:00")}, "schedule_conflict", 1},
		{"timeFree", models.UpdateOffering{Weekdays: intp([]int{3})}, "", 1},
		{"nameOnlyNotChecked", models.UpdateOffering{Name: str("足球社"), Grades: intp([]int{1, 2, 3, 4, 5, 6})}, "", 0},
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
					if err != nil || notes != c.told {
						t.Fatalf("err = %v, notes = %d; want the change kept, %d notes", err, notes, c.told)
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

// TestPatchSlotTellsEveryFamily: moving a published club's weekdays or
// times tells every family with a child in it (enrolled or waitlisted),
// once per child, what the new schedule is and what it was; a change of
// its name or a draft's times tells nobody.
func TestPatchSlotTellsEveryFamily(t *testing.T) {
	intp := func(v []int) *[]int { return &v }
	str := func(s string) *string { return &s }
	db := modelstest.MustOpenDB(t)
	w := newWorld(t, db, 3)
	o := w.offering(func(in *models.NewOffering) { in.Capacity = 2 })
	st := w.students(3)
	parents := make([]models.User, len(st))
	for i, s := range st {
		parents[i] = modelstest.Parent(t, db, s.ID)
		if _, err := w.enroll(w.admin.Actor(), s.ID, o.ID); err != nil {
			t.Fatal(err)
		}
	}
	opens, closes := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	draft, err := models.CreateOffering(w.ctx, db, w.admin.Actor(), w.school.ID, models.NewOffering{TermID: w.term.ID,
		Kind: models.KindClub, Name: "草稿社", Weekdays: []int{1}, StartTime: "16:30", EndTime: "18:00", Capacity: 5,
		Grades: []int{3}, Mode: models.ModeFCFS, EnrollOpensAt: &opens, EnrollClosesAt: &closes})
	if err != nil {
		t.Fatal(err)
	}
	count := func(u models.User) int64 {
		var n int64
		db.R.Raw("SELECT COUNT(*) FROM outbox WHERE kind = ? AND user_id = ?", models.NotifyOfferingChanged, u.ID).Scan(&n)
		return n
	}
	if _, err := models.PatchOffering(w.ctx, db, w.admin.Actor(), o.ID, models.UpdateOffering{Name: str("篮球提高班")}); err != nil {
		t.Fatal(err)
	}
	if _, err := models.PatchOffering(w.ctx, db, w.admin.Actor(), draft.ID, models.UpdateOffering{Weekdays: intp([]int{2})}); err != nil {
		t.Fatal(err)
	}
	for i, p := range parents {
		if n := count(p); n != 0 {
			t.Fatalf("parent %d told %d times of a name change or a draft's change", i, n)
		}
	}
	if _, err := models.PatchOffering(w.ctx, db, w.admin.Actor(), o.ID, models.UpdateOffering{Weekdays: intp([]int{3, 5}),
		StartTime: str("16:00"), EndTime: str("17:30")}); err != nil {
		t.Fatal(err)
	}
	for i, p := range parents {
		if n := count(p); n != 1 {
			t.Fatalf("parent %d (of an enrolled or waitlisted child) told %d times, want 1", i, n)
		}
	}
	var payload string
	db.R.Raw("SELECT payload FROM outbox WHERE kind = ? AND user_id = ?", models.NotifyOfferingChanged, parents[0].ID).Scan(&payload)
	for _, want := range []string{`"note":"改为周三五 16:00-17:30"`, `"before":"周二、周四 16:30-18:00"`} {
		if !strings.Contains(payload, want) {
			t.Fatalf("payload %s lacks %q", payload, want)
		}
	}
}
