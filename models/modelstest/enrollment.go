package modelstest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"kehou/models"
)

// Term creates a term of schoolID (2026 autumn) with maxClubs, made by
// admin (a school admin of the school).
func Term(tb testing.TB, db *models.DB, admin models.User, schoolID int64, maxClubs int) models.Term {
	tb.Helper()
	t, err := models.CreateTerm(context.Background(), db, admin.Actor(), schoolID, models.NewTerm{Name: fmt.Sprintf("2026秋季学期%d", next()),
		StartsOn: "2026-09-01", EndsOn: "2027-01-20", MaxClubs: &maxClubs})
	must(tb, err)
	return t
}

// Offering creates and publishes an offering of term, made by admin: SPEC's
// example club (Tuesday and Thursday 16:30-18:00, 30 seats, grades 1-6,
// first come first served with a waitlist), open for enrollment now; mod
// adjusts the input first.
func Offering(tb testing.TB, db *models.DB, admin models.User, term models.Term, mod func(*models.NewOffering)) models.Offering {
	tb.Helper()
	ctx := context.Background()
	opens, closes := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	in := models.NewOffering{TermID: term.ID, Kind: models.KindClub, Name: "篮球社", Weekdays: []int{2, 4},
		StartTime: "16:30", EndTime: "18:00", Capacity: 30, Grades: []int{1, 2, 3, 4, 5, 6}, Mode: models.ModeFCFS,
		EnrollOpensAt: &opens, EnrollClosesAt: &closes}
	if mod != nil {
		mod(&in)
	}
	o, err := models.CreateOffering(ctx, db, admin.Actor(), term.SchoolID, in)
	must(tb, err)
	o, err = models.PublishOffering(ctx, db, admin.Actor(), o.ID)
	must(tb, err)
	return o
}

// Enroll enrolls studentID in offeringID as a and fails tb on any refusal.
func Enroll(tb testing.TB, db *models.DB, a models.Actor, studentID, offeringID int64) models.Enrollment {
	tb.Helper()
	e, err := models.Enroll(context.Background(), db, models.NewEnrollment{Actor: a, StudentID: studentID, OfferingID: offeringID})
	must(tb, err)
	return e
}

// Invariants are the enrollment rules as queries (models.Invariants), also
// checked by the load program after each scenario.
var Invariants = models.Invariants

// CheckInvariants fails tb for every invariant db breaks (Invariants),
// with its count of violations.
func CheckInvariants(tb testing.TB, db *models.DB) {
	tb.Helper()
	var broken []string
	for _, q := range Invariants {
		var n int64
		if err := db.Read(context.Background()).Raw(q.SQL).Scan(&n).Error; err != nil {
			tb.Fatalf("modelstest: invariant %q: %v", q.Name, err)
		}
		if n != 0 {
			broken = append(broken, fmt.Sprintf("%s: %d violations", q.Name, n))
		}
	}
	if len(broken) > 0 {
		tb.Fatalf("enrollment invariants broken:\n%s", strings.Join(broken, "\n"))
	}
}
