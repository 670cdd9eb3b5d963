package models_test

import (
	"context"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// BenchmarkMarkAttendance40 measures one PUT of a whole roll of 40 that
// changes every mark (the worst case: 40 upserts and 40 audit rows, in two
// statements), alternating present and late so no alert is queued.
func BenchmarkMarkAttendance40(b *testing.B) {
	db := modelstest.MustOpenDB(b)
	ctx := context.Background()
	f := fx{db: db}
	reg := modelstest.Region(b, db, nil)
	sc := modelstest.School(b, db, reg.ID)
	admin := modelstest.Staff(b, db, models.RoleSchoolAdmin, sc.ID, 0)
	teacher := modelstest.Staff(b, db, models.RoleTeacher, sc.ID, 0)
	term := f.termTB(b, sc.ID, "2030-09-02", "2031-01-17")
	o := f.offeringTB(b, term, mask(2, 4))
	if err := db.W.Exec("UPDATE offerings SET teacher_user_id = ? WHERE id = ?", teacher.ID, o.ID).Error; err != nil {
		b.Fatal(err)
	}
	recs := make([][]models.MarkRecord, 2)
	for i := 0; i < 40; i++ {
		s := modelstest.Student(b, db, sc.ID, 3, "")
		if err := db.W.Create(&enrollmentRow{StudentID: s.ID, OfferingID: o.ID, SchoolID: sc.ID, TermID: term.ID,
			Status: "enrolled", AppliedBy: admin.ID}).Error; err != nil {
			b.Fatal(err)
		}
		recs[0] = append(recs[0], models.MarkRecord{StudentID: s.ID, Status: "present"})
		recs[1] = append(recs[1], models.MarkRecord{StudentID: s.ID, Status: "late"})
	}
	if err := models.SyncSessions(ctx, db, o.ID, time.Date(2030, 9, 1, 9, 0, 0, 0, models.Zone)); err != nil {
		b.Fatal(err)
	}
	ss, err := models.FindOfferingSessions(ctx, db, models.SystemActor, o.ID, "2030-11-05", "2030-11-05", models.Paging{})
	if err != nil || len(ss) != 1 {
		b.Fatal(ss, err)
	}
	at := time.Date(2030, 11, 5, 16, 40, 0, 0, models.Zone)
	i := 0
	for b.Loop() {
		if _, err := models.MarkAttendance(ctx, db, teacher.Actor(), ss[0].ID, recs[i%2], "", at); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
