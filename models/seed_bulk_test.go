package models_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestWriteHistoryRollsAsTheOperations: the seed's history writer writes
// the rows MarkAttendance and RecordDismissal write for the same roll —
// the marks and their history, the dismissals and theirs, roll_taken_at —
// and a day's rolls all or none.
func TestWriteHistoryRollsAsTheOperations(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	ctx := context.Background()
	f := fx{t, db}
	reg := modelstest.Region(t, db, nil)
	sc := modelstest.School(t, db, reg.ID)
	admin := modelstest.Staff(t, db, models.RoleSchoolAdmin, sc.ID, 0).Actor()
	term := f.term(sc.ID, "2030-09-02", "2031-01-17")
	const day = "2030-11-05"
	var kids []models.Student
	for range 4 {
		kids = append(kids, modelstest.Student(t, db, sc.ID, 3, ""))
	}
	session := func() models.SessionView {
		o := f.offering(term, "club", "sports", "published", mask(2), hm(16, 30), hm(18, 0), 60)
		for _, k := range kids {
			f.enroll(k, o, "enrolled", admin.UserID)
		}
		if err := models.SyncSessions(ctx, db, o.ID, time.Date(2030, 9, 1, 9, 0, 0, 0, models.Zone)); err != nil {
			t.Fatal(err)
		}
		ss, err := models.FindOfferingSessions(ctx, db, models.SystemActor, o.ID, day, day, models.Paging{})
		if err != nil || len(ss) != 1 {
			t.Fatal(ss, err)
		}
		return ss[0]
	}
	api, hist, third := session(), session(), session()
	marked := time.Date(2030, 11, 5, 16, 40, 0, 0, models.Zone)
	recorded := time.Date(2030, 11, 5, 18, 20, 0, 0, models.Zone)
	left := time.Date(2030, 11, 5, 18, 5, 0, 0, models.Zone)
	marks := []models.MarkRecord{{StudentID: kids[0].ID, Status: "present"}, {StudentID: kids[1].ID, Status: "absent"},
		{StudentID: kids[2].ID, Status: "late"}, {StudentID: kids[3].ID, Status: "leave"}}
	gone := []models.DismissalRecord{{StudentID: kids[2].ID, By: models.DismissedBus, At: &left},
		{StudentID: kids[0].ID, By: models.DismissedGuardian, At: &left}}

	if _, err := models.MarkAttendance(ctx, db, admin, api.ID, marks, "", marked); err != nil {
		t.Fatal(err)
	}
	if _, err := models.RecordDismissal(ctx, db, admin, api.ID, gone, "", recorded); err != nil {
		t.Fatal(err)
	}
	if err := models.WriteHistoryRolls(ctx, db, []models.HistoryRoll{{Session: hist.Session, By: admin, At: marked,
		Marks: marks, Dismissals: gone, DismissedAt: recorded}}); err != nil {
		t.Fatal(err)
	}
	rows := func(q string, session int64) []string {
		t.Helper()
		rs, err := db.R.Raw(q, session).Rows()
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		cols, _ := rs.Columns()
		var out []string
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					vals[i] = string(b)
				}
				if tm, ok := v.(time.Time); ok {
					vals[i] = tm.UTC()
				}
			}
			out = append(out, fmt.Sprint(vals...))
		}
		return out
	}
	for _, q := range []string{
		`SELECT student_id, school_id, session_date, status, recorded_by, created_at, updated_at FROM attendance
			WHERE session_id = ? ORDER BY id`,
		`SELECT student_id, school_id, session_date, old_status, new_status, changed_by, reason, changed_at
			FROM attendance_changes WHERE session_id = ? ORDER BY id`,
		`SELECT student_id, school_id, dismissed_by, dismissed_at, recorded_by, created_at FROM dismissals
			WHERE session_id = ? ORDER BY id`,
		`SELECT student_id, school_id, session_date, old_by, old_at, new_by, new_at, changed_by, reason, changed_at
			FROM dismissal_changes WHERE session_id = ? ORDER BY id`,
		`SELECT roll_taken_at FROM sessions WHERE id = ?`,
	} {
		want, got := rows(q, api.ID), rows(q, hist.ID)
		if len(want) == 0 || !reflect.DeepEqual(got, want) {
			t.Errorf("%s\nhistory wrote %q\nthe operations wrote %q", q, got, want)
		}
	}

	// A day whose second roll repeats a mark already written fails whole:
	// the first roll's marks are not left behind.
	err := models.WriteHistoryRolls(ctx, db, []models.HistoryRoll{
		{Session: third.Session, By: admin, At: marked, Marks: marks[:1]},
		{Session: hist.Session, By: admin, At: marked, Marks: marks[:1]}})
	if err == nil {
		t.Fatal("a repeated first mark was written")
	}
	if n := len(rows(`SELECT id FROM attendance WHERE session_id = ?`, third.ID)); n != 0 {
		t.Fatalf("a failed day left %d marks of its first roll", n)
	}
}

// TestFindStudentByIDAsGorm: the hand-scanned look-up answers what gorm's
// First answers, class and all, for an active and an inactive child, and
// ErrNotFound for no child.
func TestFindStudentByIDAsGorm(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	ctx := context.Background()
	f := fx{t, db}
	reg := modelstest.Region(t, db, nil)
	sc := modelstest.School(t, db, reg.ID)
	plain := modelstest.Student(t, db, sc.ID, 2, "")
	classed := modelstest.Student(t, db, sc.ID, 4, "")
	f.exec("INSERT INTO classes (school_id, grade, name) VALUES (?, 4, '9班')", sc.ID)
	f.exec("UPDATE students SET class_id = (SELECT id FROM classes WHERE school_id = ? AND name = '9班'), active = FALSE WHERE id = ?",
		sc.ID, classed.ID)
	for _, id := range []int64{plain.ID, classed.ID} {
		var want models.Student
		if err := db.R.First(&want, id).Error; err != nil {
			t.Fatal(err)
		}
		got, err := models.FindStudentByID(ctx, db, id)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("student %d: %+v, %v; gorm's First: %+v", id, got, err, want)
		}
	}
	if _, err := models.FindStudentByID(ctx, db, classed.ID+1000); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("no such student: %v", err)
	}
}
