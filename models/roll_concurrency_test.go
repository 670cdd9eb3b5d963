package models_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestMarkAttendanceConcurrent: eight teachers mark their own rolls at the
// same moment, each sending it twice while a school admin sends it once
// more, then correct half of it to late; afterwards every child has exactly
// one mark, the audit trail exactly the changes, and each absent child's
// guardian one alert and one "已到" correction.
func TestMarkAttendanceConcurrent(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	ctx := context.Background()
	f := fx{t, db}
	reg := modelstest.Region(t, db, nil)
	sc := modelstest.School(t, db, reg.ID)
	admin := modelstest.Staff(t, db, models.RoleSchoolAdmin, sc.ID, 0)
	term := f.term(sc.ID, "2030-09-02", "2031-01-17")
	const teachers, kids = 8, 12
	type roll struct {
		teacher models.User
		session int64
		first   []models.MarkRecord
		second  []models.MarkRecord
	}
	rolls := make([]roll, teachers)
	for i := range rolls {
		te := modelstest.Staff(t, db, models.RoleTeacher, sc.ID, 0)
		o := f.offering(term, "club", "sports", "published", mask(2), hm(16, 30), hm(18, 0), 60)
		f.exec("UPDATE offerings SET teacher_user_id = ? WHERE id = ?", te.ID, o.ID)
		r := roll{teacher: te}
		for k := 0; k < kids; k++ {
			s := modelstest.Student(t, db, sc.ID, 3, "")
			modelstest.Parent(t, db, s.ID)
			f.enroll(s, o, "enrolled", admin.ID)
			first := "present"
			if k == 0 {
				first = "absent"
			}
			r.first = append(r.first, models.MarkRecord{StudentID: s.ID, Status: first})
			r.second = append(r.second, models.MarkRecord{StudentID: s.ID, Status: "late"})
		}
		if err := models.SyncSessions(ctx, db, o.ID, time.Date(2030, 9, 1, 9, 0, 0, 0, models.Zone)); err != nil {
			t.Fatal(err)
		}
		ss, err := models.FindOfferingSessions(ctx, db, models.SystemActor, o.ID, "2030-11-05", "2030-11-05", models.Paging{})
		if err != nil || len(ss) != 1 {
			t.Fatal(ss, err)
		}
		r.session = ss[0].ID
		rolls[i] = r
	}
	at := time.Date(2030, 11, 5, 16, 45, 0, 0, models.Zone)
	errs := make(chan error, teachers*4)
	mark := func(wg *sync.WaitGroup, a models.Actor, id int64, recs []models.MarkRecord) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := models.MarkAttendance(ctx, db, a, id, recs, "", at); err != nil {
				errs <- err
			}
		}()
	}
	// All rolls at once, each sent twice by its teacher and once by the
	// admin; then, all at once again, half of each roll corrected to late.
	var first, second sync.WaitGroup
	for _, r := range rolls {
		mark(&first, r.teacher.Actor(), r.session, r.first)
		mark(&first, r.teacher.Actor(), r.session, r.first)
		mark(&first, admin.Actor(), r.session, r.first)
	}
	first.Wait()
	for _, r := range rolls {
		mark(&second, r.teacher.Actor(), r.session, r.second[:kids/2])
	}
	second.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	count := func(q string, args ...any) int64 {
		var n int64
		if err := db.R.Raw(q, args...).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i, r := range rolls {
		if n := count("SELECT COUNT(*) FROM attendance WHERE session_id = ?", r.session); n != kids {
			t.Errorf("roll %d: %d marks, want %d", i, n, kids)
		}
		// First marks (kids), then half of them changed to late.
		if n := count("SELECT COUNT(*) FROM attendance_changes WHERE session_id = ?", r.session); n != kids+kids/2 {
			t.Errorf("roll %d: %d changes, want %d", i, n, kids+kids/2)
		}
		// The absent child was then marked late: one alert, one correction.
		if n := count("SELECT COUNT(*) FROM outbox WHERE kind = ? AND dedupe_key LIKE ?", models.NotifyAbsence,
			fmt.Sprintf("%%session:%d:%%", r.session)); n != 2 {
			t.Errorf("roll %d: %d absence messages, want 2", i, n)
		}
	}
}
