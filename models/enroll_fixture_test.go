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
	term := modelstest.Term(t, db, admin, s.ID, maxClubs)
	w.term = term
	return w
}

// offering creates and publishes an offering, open for enrollment now;
// mod adjusts the input first (modelstest.Offering).
func (w *world) offering(mod func(*models.NewOffering)) models.Offering {
	w.t.Helper()
	return modelstest.Offering(w.t, w.db, w.admin, w.term, mod)
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

// checkInvariants checks every enrollment invariant of db
// (modelstest.CheckInvariants) and returns offeringID's enrolled and
// waitlisted counts.
func checkInvariants(t *testing.T, db *models.DB, offeringID int64) (enrolled, waitlisted int) {
	t.Helper()
	modelstest.CheckInvariants(t, db)
	o, err := models.FindOfferingByID(context.Background(), db, offeringID)
	if err != nil {
		t.Fatal(err)
	}
	return o.EnrolledCount, o.WaitlistedCount
}

func mustDB(t testing.TB) *models.DB { t.Helper(); return modelstest.MustOpenDB(t) }
