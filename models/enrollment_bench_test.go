package models_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"kehou/models"
)

// BenchmarkEnroll measures enrollments from many goroutines at once (the
// rush when a window opens): into one offering (seats, then its waitlist;
// every transaction takes the same row) and spread over ten. Run with -cpu
// to vary the concurrency, on both engines.
func BenchmarkEnroll(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("offerings=%d", n), func(b *testing.B) {
			w := newWorld(b, mustDB(b), 2)
			var offs []models.Offering
			for i := 0; i < n; i++ {
				offs = append(offs, w.offering(func(in *models.NewOffering) { in.Capacity = 100; in.Weekdays = []int{1 + i%5} }))
			}
			students := w.students(b.N)
			a := w.admin.Actor()
			var next atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1) - 1
					in := models.NewEnrollment{Actor: a, StudentID: students[i].ID, OfferingID: offs[int(i)%n].ID}
					if _, err := models.Enroll(w.ctx, w.db, in); err != nil {
						b.Error(err)
					}
				}
			})
		})
	}
}
