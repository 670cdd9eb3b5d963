package models_test

import (
	"errors"
	"testing"
	"time"

	"kehou/models"
)

// TestCheckEnrollable covers SPEC enrollment rules 2, 4, 5 and 6 (and the
// offering's own state) on the pure rule function: one pass and one fail
// per rule.
func TestCheckEnrollable(t *testing.T) {
	now := time.Date(2026, 9, 2, 10, 0, 0, 0, time.UTC)
	st := models.Student{ID: 41, SchoolID: 1, Grade: 3, Active: true}
	term := models.Term{ID: 3, SchoolID: 1, MaxClubs: 2}
	mask := func(ns ...int) int { m, _ := models.Mask(ns, 0, 30); return m }
	base := models.Offering{ID: 7, SchoolID: 1, TermID: 3, Kind: models.KindClub, Weekdays: mask(2, 4), StartMin: 990,
		EndMin: 1080, Capacity: 30, Grades: mask(3, 4, 5, 6), Mode: models.ModeFCFS, Status: models.OfferingPublished,
		EnrollOpensAt: now.Add(-time.Hour), EnrollClosesAt: now.Add(time.Hour)}
	club := func(id int64, status models.EnrollmentStatus, weekdays, start, end int) models.Held {
		return models.Held{OfferingID: id, Status: status, Kind: models.KindClub, Weekdays: weekdays, StartMin: start, EndMin: end}
	}
	drawn := now.Add(-time.Minute)
	tests := []struct {
		name     string
		student  func(*models.Student)
		offering func(*models.Offering)
		existing []models.Held
		now      time.Time
		staff    bool
		want     error
	}{
		{name: "ok"},
		{name: "ErrSchoolMismatch", offering: func(o *models.Offering) { o.SchoolID = 2 }, want: models.ErrSchoolMismatch},
		{name: "ErrStudentInactive", student: func(s *models.Student) { s.Active = false }, want: models.ErrStudentInactive},
		// Rule 2: one live enrollment per student and offering.
		{name: "ErrAlreadyEnrolled", existing: []models.Held{club(7, "waitlisted", mask(1), 0, 10)}, want: models.ErrAlreadyEnrolled},
		{name: "okAfterWithdrawOfOther", existing: []models.Held{club(8, "enrolled", mask(1), 990, 1080)}},
		// The offering must be published.
		{name: "ErrNotOpenDraft", offering: func(o *models.Offering) { o.Status = models.OfferingDraft }, want: models.ErrNotOpen},
		{name: "ErrNotOpenClosed", offering: func(o *models.Offering) { o.Status = models.OfferingClosed }, want: models.ErrNotOpen},
		// Rule 4: grade and window (staff override the window).
		{name: "ErrGradeNotEligible", student: func(s *models.Student) { s.Grade = 2 }, want: models.ErrGradeNotEligible},
		{name: "ErrGradeNotEligibleStaffToo", student: func(s *models.Student) { s.Grade = 7 }, staff: true, want: models.ErrGradeNotEligible},
		{name: "ErrWindowClosedBefore", now: now.Add(-2 * time.Hour), want: models.ErrWindowClosed},
		{name: "ErrWindowClosedAfter", now: now.Add(time.Hour), want: models.ErrWindowClosed},
		{name: "okWindowOpensExactly", now: now.Add(-time.Hour)},
		{name: "okStaffOverridesWindow", now: now.Add(2 * time.Hour), staff: true},
		// Rule 5: enrolled clubs may not overlap in weekday and time.
		{name: "ErrScheduleConflict", existing: []models.Held{club(8, "enrolled", mask(4), 1050, 1140)}, want: models.ErrScheduleConflict},
		{name: "okOtherWeekday", existing: []models.Held{club(8, "enrolled", mask(1, 3), 990, 1080)}},
		{name: "okBackToBack", existing: []models.Held{club(8, "enrolled", mask(2), 1080, 1140)}},
		{name: "okWaitlistedOverlap", existing: []models.Held{club(8, "waitlisted", mask(2), 990, 1080)}},
		{name: "okBasicOverlap", existing: []models.Held{{OfferingID: 9, Status: "enrolled", Kind: models.KindBasic, Weekdays: mask(1, 2, 3, 4, 5), StartMin: 960, EndMin: 1080}}},
		// Rule 6: at most max clubs; basic offerings do not count.
		{name: "ErrLimitReached", existing: []models.Held{club(8, "enrolled", mask(1), 990, 1080), club(9, "waitlisted", mask(3), 990, 1080)}, want: models.ErrLimitReached},
		{name: "okBasicNotCounted", existing: []models.Held{club(8, "enrolled", mask(1), 990, 1080),
			{OfferingID: 9, Status: "enrolled", Kind: models.KindBasic, Weekdays: mask(3), StartMin: 0, EndMin: 10}}},
		{name: "okBasicBeyondLimit", offering: func(o *models.Offering) { o.Kind = models.KindBasic },
			existing: []models.Held{club(8, "enrolled", mask(1), 990, 1080), club(9, "enrolled", mask(3), 990, 1080)}},
		{name: "okSecondLotteryChoiceCostsNothing", offering: func(o *models.Offering) { o.Mode = models.ModeLottery },
			existing: []models.Held{club(8, "enrolled", mask(1), 990, 1080), club(9, "applied", mask(3), 990, 1080)}},
		{name: "ErrLimitReachedFCFSAfterApplications", existing: []models.Held{club(8, "enrolled", mask(1), 990, 1080),
			club(9, "applied", mask(3), 990, 1080), club(10, "applied", mask(5), 990, 1080)}, want: models.ErrLimitReached},
		{name: "okDrawnLotteryIsFCFS", offering: func(o *models.Offering) { o.Mode = models.ModeLottery; o.DrawnAt = &drawn }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, o, n := st, base, now
			if tc.student != nil {
				tc.student(&s)
			}
			if tc.offering != nil {
				tc.offering(&o)
			}
			if !tc.now.IsZero() {
				n = tc.now
			}
			got := models.CheckEnrollable(s, o, term, tc.existing, n, tc.staff)
			if !errors.Is(got, tc.want) || (tc.want == nil && got != nil) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("ErrLimitReachedMaxZero", func(t *testing.T) {
		zero := term
		zero.MaxClubs = 0
		if err := models.CheckEnrollable(st, base, zero, nil, now, false); !errors.Is(err, models.ErrLimitReached) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestOverlapsAndMasks(t *testing.T) {
	if m, ok := models.Mask([]int{2, 4}, 1, 5); !ok || m != 1<<2|1<<4 {
		t.Fatalf("mask = %b %v", m, ok)
	}
	for name, ns := range map[string][]int{"zero": {0}, "six": {6}, "dup": {2, 2}, "empty": {}} {
		if _, ok := models.Mask(ns, 1, 5); ok {
			t.Errorf("%s: Mask accepted %v", name, ns)
		}
	}
	if got := models.Unmask(1<<3 | 1<<5); len(got) != 2 || got[0] != 3 || got[1] != 5 {
		t.Fatalf("unmask = %v", got)
	}
	if !models.Overlaps(1<<2, 990, 1080, 1<<2|1<<3, 1000, 1010) || models.Overlaps(1<<2, 990, 1080, 1<<2, 1080, 1100) {
		t.Fatal("Overlaps wrong")
	}
}
