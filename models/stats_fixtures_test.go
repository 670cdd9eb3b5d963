package models_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"kehou/models"
)

// The stats tests write terms, offerings, enrollments and attendance
// straight into the tables (fx), so a figure's test states exactly the rows
// it counts, whatever the operations that would make them check first.

// termRow, offeringRow and enrollmentRow are the models' own rows, written
// without their operations.
type (
	termRow       = models.Term
	offeringRow   = models.Offering
	enrollmentRow = models.Enrollment
)

type attendanceRow struct {
	ID          int64 `gorm:"primaryKey"`
	OfferingID  int64
	StudentID   int64
	SchoolID    int64
	SessionDate string
	Status      string
	CreatedAt   time.Time
}

func (attendanceRow) TableName() string { return "attendance" }

// fx writes fixture rows into db.
type fx struct {
	t  *testing.T
	db *models.DB
}

func (f fx) create(v any) {
	f.t.Helper()
	if err := f.db.Tx(context.Background(), func(tx *gorm.DB) error { return tx.Create(v).Error }); err != nil {
		f.t.Fatal(err)
	}
}

func (f fx) exec(q string, args ...any) {
	f.t.Helper()
	if err := f.db.W.Exec(q, args...).Error; err != nil {
		f.t.Fatal(err)
	}
}

func (f fx) term(schoolID int64, starts, ends string) termRow {
	f.t.Helper()
	t := termRow{SchoolID: schoolID, Name: starts, StartsOn: starts, EndsOn: ends, MaxClubs: 3}
	f.create(&t)
	return t
}

// mask turns weekdays or grades into the bit mask of the offerings table.
func mask(days ...int) int {
	m := 0
	for _, d := range days {
		m |= 1 << d
	}
	return m
}

var weekdays5 = mask(1, 2, 3, 4, 5)

// hm is minutes after midnight.
func hm(h, m int) int { return h*60 + m }

func (f fx) offering(t termRow, kind, category, status string, days, start, end, capacity int) offeringRow {
	f.t.Helper()
	o := offeringRow{SchoolID: t.SchoolID, TermID: t.ID, Kind: kind, Name: kind + category, Category: category,
		Weekdays: days, StartMin: start, EndMin: end, Capacity: capacity, Grades: mask(1, 2, 3, 4, 5, 6, 7, 8, 9),
		Mode: "fcfs", EnrollOpensAt: time.Now(), EnrollClosesAt: time.Now().Add(time.Hour), Status: status}
	f.create(&o)
	return o
}

func (f fx) enroll(s models.Student, o offeringRow, status models.EnrollmentStatus, by int64) {
	f.t.Helper()
	f.create(&enrollmentRow{StudentID: s.ID, OfferingID: o.ID, SchoolID: o.SchoolID, TermID: o.TermID, Status: status, AppliedBy: by})
}

func (f fx) attend(s models.Student, o offeringRow, date, status string) {
	f.t.Helper()
	f.create(&attendanceRow{OfferingID: o.ID, StudentID: s.ID, SchoolID: o.SchoolID, SessionDate: date, Status: status})
}

// survey inserts a survey straight away (CreateSurvey has its own tests).
func (f fx) survey(regionID, schoolID *int64, opens, closes time.Time, by int64) models.Survey {
	f.t.Helper()
	s := models.Survey{RegionID: regionID, SchoolID: schoolID, Title: "满意度调查", OpensAt: opens.UTC(), ClosesAt: closes.UTC(),
		OpensOn: models.LocalDate(opens), CreatedBy: by}
	f.create(&s)
	return s
}

func (f fx) respond(sv models.Survey, st models.Student, by int64, support, satisfaction string, at time.Time) {
	f.t.Helper()
	f.create(&models.SurveyResponse{SurveyID: sv.ID, StudentID: st.ID, SchoolID: st.SchoolID, UserID: by,
		Support: support, Satisfaction: satisfaction, CreatedAt: at.UTC()})
}

// cst is a time in Asia/Shanghai.
func cst(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, models.Zone)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr[T any](v T) *T { return &v }

// termTB and offeringTB are term and offering for benchmarks.
func (f fx) termTB(tb testing.TB, schoolID int64, starts, ends string) termRow {
	t := termRow{SchoolID: schoolID, Name: starts, StartsOn: starts, EndsOn: ends, MaxClubs: 3}
	if err := f.db.W.Create(&t).Error; err != nil {
		tb.Fatal(err)
	}
	return t
}

func (f fx) offeringTB(tb testing.TB, t termRow, days int) offeringRow {
	o := offeringRow{SchoolID: t.SchoolID, TermID: t.ID, Kind: "club", Name: "篮球社", Category: "sports",
		Weekdays: days, StartMin: hm(16, 30), EndMin: hm(18, 0), Capacity: 60, Grades: mask(3), Mode: "fcfs",
		EnrollOpensAt: time.Now(), EnrollClosesAt: time.Now().Add(time.Hour), Status: "published"}
	if err := f.db.W.Create(&o).Error; err != nil {
		tb.Fatal(err)
	}
	return o
}
