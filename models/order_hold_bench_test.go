package models_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"kehou/models"
)

// BenchmarkReleaseExpiredHolds measures the holds job after a rush: 100
// priced clubs, each with 100 seats held and expired and 20 children
// waiting, so one run releases 10,000 holds and promotes 2,000 children
// into held seats of their own (the bar: ≤ 5 s on SQLite).
//
//	go test -run '^$' -bench ReleaseExpiredHolds -benchtime 1x ./models
func BenchmarkReleaseExpiredHolds(b *testing.B) {
	const clubs, held, waiting = 100, 100, 20
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w := newFeeWorld(b)
		ctx := context.Background()
		capacity := held
		var offerings []int64
		for c := 0; c < clubs; c++ {
			offerings = append(offerings, w.published(b, 300, func(in *models.UpdateOffering) { in.Capacity = &capacity }).ID)
		}
		expires := w.now.Add(-time.Minute).UTC()
		if err := w.db.Tx(ctx, func(tx *gorm.DB) error { return seedHolds(tx, w, offerings, held, waiting, expires) }); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		n, err := models.ReleaseExpiredHolds(ctx, w.db, w.now)
		b.StopTimer()
		if err != nil || n != clubs*held {
			b.Fatalf("released %d, %v", n, err)
		}
		var promoted int64
		w.db.R.Raw("SELECT COUNT(*) FROM enrollments WHERE status = ?", models.StatusPendingPayment).Scan(&promoted)
		if promoted != clubs*waiting {
			b.Fatalf("%d promoted into held seats, want %d", promoted, clubs*waiting)
		}
		b.ReportMetric(float64(n), "holds/op")
	}
}

// seedHolds writes, for each offering, held seats whose holds expired at
// expires (each with its unpaid order) and a waitlist behind them, in bulk.
func seedHolds(tx *gorm.DB, w *feeWorld, offerings []int64, held, waiting int, expires time.Time) error {
	now := w.now.UTC()
	var students []models.Student
	for range offerings {
		for k := 0; k < held+waiting; k++ {
			n := len(students)
			students = append(students, models.Student{SchoolID: w.school.ID, StudentNo: "B" + itoa(n), Name: "学生" + itoa(n),
				Gender: "男", Grade: 3, ClassName: "1班", Active: true, CreatedAt: now, UpdatedAt: now})
		}
	}
	if err := tx.CreateInBatches(&students, 500).Error; err != nil {
		return err
	}
	var es []models.Enrollment
	for c, oid := range offerings {
		for k := 0; k < held+waiting; k++ {
			e := models.Enrollment{StudentID: students[c*(held+waiting)+k].ID, OfferingID: oid, SchoolID: w.school.ID,
				TermID: w.term.ID, AppliedBy: w.admin.ID, CreatedAt: now, UpdatedAt: now}
			if k < held {
				e.Status, e.HoldExpiresAt, e.HeldAt = models.StatusPendingPayment, &expires, &now
			} else {
				pos := k - held + 1
				e.Status, e.WaitlistPosition = models.StatusWaitlisted, &pos
			}
			es = append(es, e)
		}
	}
	if err := tx.CreateInBatches(&es, 500).Error; err != nil {
		return err
	}
	var orders []models.Order
	for _, e := range es {
		if e.Status == models.StatusPendingPayment {
			orders = append(orders, models.Order{SchoolID: e.SchoolID, TermID: e.TermID, OfferingID: e.OfferingID, StudentID: e.StudentID,
				EnrollmentID: e.ID, Billing: models.BillingSession, UnitFen: 300, Sessions: 19, BillsFrom: "2026-09-07",
				GrossFen: 5700, Waiver: models.WaiverNone, AmountFen: 5700, Status: models.OrderUnpaid, CreatedAt: now, UpdatedAt: now})
		}
	}
	if err := tx.CreateInBatches(&orders, 500).Error; err != nil {
		return err
	}
	var ledger []models.LedgerEntry
	for _, o := range orders {
		ledger = append(ledger, models.LedgerEntry{OrderID: o.ID, SchoolID: o.SchoolID, Kind: models.LedgerCharge, AmountFen: 5700,
			ExternalID: "charge:enrollment:" + itoa(int(o.EnrollmentID)), OccurredAt: now, CreatedAt: now})
	}
	if err := tx.CreateInBatches(&ledger, 500).Error; err != nil {
		return err
	}
	return tx.Exec("UPDATE offerings SET enrolled_count = ?, waitlisted_count = ? WHERE id IN ?", held, waiting, offerings).Error
}

func itoa(n int) string { return strconv.Itoa(n) }

// BenchmarkEnrollRushPaid compares the spread rush (ten clubs, seats for
// everyone, many goroutines) on free clubs and on priced ones, where every
// seat taken is a hold with its order (the bar: accepted holds/s
// within 10% of the free rush). cpu-µs/op is this process's CPU per seat
// (on SQLite the whole write path): on a shared machine it moves less
// than the time per seat.
//
//	go test -run '^$' -bench EnrollRushPaid -cpu 16 ./models
func BenchmarkEnrollRushPaid(b *testing.B) {
	for _, fee := range []int64{0, 300} {
		b.Run(fmt.Sprintf("fee=%d", fee), func(b *testing.B) {
			w := newWorld(b, mustDB(b), 2)
			var offs []models.Offering
			for i := 0; i < 10; i++ {
				offs = append(offs, w.offering(func(in *models.NewOffering) {
					in.Capacity, in.Weekdays, in.FeeFen, in.Billing = models.MaxCapacity, []int{1 + i%5}, fee, models.BillingSession
				}))
			}
			students := w.students(b.N)
			a := w.admin.Actor()
			var next atomic.Int64
			b.ResetTimer()
			c0 := cpuTime()
			defer func() { b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(b.N), "cpu-µs/op") }()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1) - 1
					e, err := models.Enroll(w.ctx, w.db, models.NewEnrollment{Actor: a, StudentID: students[i].ID, OfferingID: offs[int(i)%len(offs)].ID})
					if err != nil {
						b.Error(err)
					} else if want := models.StatusEnrolled; fee > 0 && e.Status != models.StatusPendingPayment || fee == 0 && e.Status != want {
						b.Errorf("status %s", e.Status)
					}
				}
			})
		})
	}
}
