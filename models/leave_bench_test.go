package models_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// BenchmarkRollWithLeaves measures reading a roll of 40 when one child
// holds n active leave requests covering the day: none, the cap
// (models.MaxActiveLeaves), and the 5,000 one parent filed before there
// was a cap (written directly, as the cap now refuses them).
func BenchmarkRollWithLeaves(b *testing.B) {
	for _, n := range []int{0, models.MaxActiveLeaves, 5000} {
		b.Run(fmt.Sprintf("leaves=%d", n), func(b *testing.B) {
			db := modelstest.MustOpenDB(b)
			ctx := context.Background()
			f := fx{db: db}
			sc := modelstest.School(b, db, modelstest.Region(b, db, nil).ID)
			admin := modelstest.Staff(b, db, models.RoleSchoolAdmin, sc.ID, 0)
			term := f.termTB(b, sc.ID, "2030-09-02", "2031-01-17")
			o := f.offeringTB(b, term, mask(2, 4))
			var first int64
			for i := 0; i < 40; i++ {
				s := modelstest.Student(b, db, sc.ID, 3, "")
				if i == 0 {
					first = s.ID
				}
				if err := db.W.Create(&enrollmentRow{StudentID: s.ID, OfferingID: o.ID, SchoolID: sc.ID, TermID: term.ID,
					Status: "enrolled", AppliedBy: admin.ID}).Error; err != nil {
					b.Fatal(err)
				}
			}
			for done := 0; done < n; done += 500 {
				var q strings.Builder
				q.WriteString("INSERT INTO leave_requests (student_id, school_id, from_date, to_date, offering_ids, reason, status, created_at) VALUES ")
				args := []any{}
				for i := 0; i < 500 && done+i < n; i++ {
					if i > 0 {
						q.WriteString(", ")
					}
					q.WriteString("(?, ?, '2030-11-01', '2030-11-30', '[]', '病假', 'active', ?)")
					args = append(args, first, sc.ID, time.Now())
				}
				if err := db.W.Exec(q.String(), args...).Error; err != nil {
					b.Fatal(err)
				}
			}
			if err := models.SyncSessions(ctx, db, o.ID, time.Date(2030, 9, 1, 9, 0, 0, 0, models.Zone)); err != nil {
				b.Fatal(err)
			}
			ss, err := models.FindOfferingSessions(ctx, db, models.SystemActor, o.ID, "2030-11-05", "2030-11-05", models.Paging{})
			if err != nil || len(ss) != 1 {
				b.Fatal(ss, err)
			}
			for b.Loop() {
				if _, err := models.FindRoll(ctx, db, admin.Actor(), ss[0].ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
