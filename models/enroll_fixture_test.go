package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"kehou/models"
	"kehou/models/modelstest"
)

// world is a school with a term and its admin, for enrollment tests.
type world struct {
	t      testing.TB
	db     *models.DB
	school models.School
	term   models.Term
	admin  models.User
	ctx    context.Context
}

func newWorld(t testing.TB, db *models.DB, maxClubs int) *world {
	t.Helper()
	r := modelstest.Region(t, db, nil)
	s := modelstest.School(t, db, r.ID)
	admin := modelstest.Staff(t, db, models.RoleSchoolAdmin, s.ID, 0)
	w := &world{t: t, db: db, school: s, admin: admin, ctx: context.Background()}
	term, err := models.CreateTerm(w.ctx, db, admin.Actor(), s.ID, models.NewTerm{Name: "2026秋季学期",
		StartsOn: "2026-09-01", EndsOn: "2027-01-20", MaxClubs: &maxClubs})
	if err != nil {
		t.Fatal(err)
	}
	w.term = term
	return w
}

// offering creates and publishes an offering, open for enrollment now;
// mod adjusts the input first.
func (w *world) offering(mod func(*models.NewOffering)) models.Offering {
	w.t.Helper()
	opens, closes := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	in := models.NewOffering{TermID: w.term.ID, Kind: models.KindClub, Name: "篮球社", Weekdays: []int{2, 4},
		StartTime: "16:30", EndTime: "18:00", Capacity: 30, Grades: []int{1, 2, 3, 4, 5, 6}, Mode: models.ModeFCFS,
		EnrollOpensAt: &opens, EnrollClosesAt: &closes}
	if mod != nil {
		mod(&in)
	}
	o, err := models.CreateOffering(w.ctx, w.db, w.admin.Actor(), w.school.ID, in)
	if err != nil {
		w.t.Fatal(err)
	}
	if o, err = models.PublishOffering(w.ctx, w.db, w.admin.Actor(), o.ID); err != nil {
		w.t.Fatal(err)
	}
	return o
}

// students inserts n active grade-3 students in one transaction.
func (w *world) students(n int) []models.Student {
	w.t.Helper()
	out := make([]models.Student, n)
	base := time.Now().UnixNano()
	for i := range out {
		out[i] = models.Student{SchoolID: w.school.ID, StudentNo: fmt.Sprintf("B%d-%d", base, i),
			Name: fmt.Sprintf("学生%d", i), Gender: "女", Grade: 3, ClassName: "2班", Active: true}
	}
	if err := w.db.Tx(w.ctx, func(tx *gorm.DB) error { return tx.CreateInBatches(&out, 200).Error }); err != nil {
		w.t.Fatal(err)
	}
	return out
}

func (w *world) enroll(a models.Actor, studentID, offeringID int64) (models.Enrollment, error) {
	return models.Enroll(w.ctx, w.db, models.NewEnrollment{Actor: a, StudentID: studentID, OfferingID: offeringID})
}

func (w *world) offeringNow(id int64) models.Offering {
	w.t.Helper()
	o, err := models.FindOfferingByID(w.ctx, w.db, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

// checkInvariants verifies an offering's counters against its rows: the
// enrolled count matches and never exceeds capacity, waitlist positions are
// exactly 1..n, and no student holds two live rows.
func checkInvariants(t *testing.T, db *models.DB, offeringID int64) (enrolled, waitlisted int) {
	t.Helper()
	o, err := models.FindOfferingByID(context.Background(), db, offeringID)
	if err != nil {
		t.Fatal(err)
	}
	var rows []models.Enrollment
	if err := db.R.Where("offering_id = ? AND status IN ?", offeringID, []string{"enrolled", "waitlisted", "applied"}).
		Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	positions := map[int]bool{}
	for _, e := range rows {
		if seen[e.StudentID] {
			t.Fatalf("student %d holds two live enrollments", e.StudentID)
		}
		seen[e.StudentID] = true
		switch e.Status {
		case "enrolled":
			enrolled++
		case "waitlisted":
			waitlisted++
			if e.WaitlistPosition == nil || positions[*e.WaitlistPosition] {
				t.Fatalf("bad or duplicate waitlist position %v", e.WaitlistPosition)
			}
			positions[*e.WaitlistPosition] = true
		}
	}
	for p := 1; p <= waitlisted; p++ {
		if !positions[p] {
			t.Fatalf("waitlist positions are not 1..%d (missing %d)", waitlisted, p)
		}
	}
	if enrolled != o.EnrolledCount || waitlisted != o.WaitlistedCount || enrolled > o.Capacity {
		t.Fatalf("counters enrolled=%d waitlisted=%d capacity=%d, rows enrolled=%d waitlisted=%d",
			o.EnrolledCount, o.WaitlistedCount, o.Capacity, enrolled, waitlisted)
	}
	return enrolled, waitlisted
}

func mustDB(t testing.TB) *models.DB { t.Helper(); return modelstest.MustOpenDB(t) }
