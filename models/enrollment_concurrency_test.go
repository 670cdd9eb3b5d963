package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestEnrollConcurrent is rule 1 under load: 500 students press "enroll"
// at once for 30 seats. Exactly 30 get a seat, the other 470 are waitlisted
// at positions exactly 1..470, nobody twice, and the counter matches the
// rows — through one handle, and through two handles on one database (two
// server instances; on PostgreSQL the real multi-instance case).
func TestEnrollConcurrent(t *testing.T) {
	for _, instances := range []int{1, 2} {
		name := map[int]string{1: "oneInstance", 2: "twoInstances"}[instances]
		t.Run(name, func(t *testing.T) {
			url := modelstest.URL(t)
			dbs := []*models.DB{modelstest.Open(t, url)}
			for len(dbs) < instances {
				dbs = append(dbs, modelstest.Open(t, url))
			}
			w := newWorld(t, dbs[0], 2)
			o := w.offering(func(n *models.NewOffering) { n.Capacity = 30 })
			students := w.students(500)
			a := w.admin.Actor()
			var wg sync.WaitGroup
			errs := make(chan error, len(students))
			results := make([]models.Enrollment, len(students))
			for i, s := range students {
				wg.Add(1)
				go func() {
					defer wg.Done()
					e, err := models.Enroll(context.Background(), dbs[i%len(dbs)],
						models.NewEnrollment{Actor: a, StudentID: s.ID, OfferingID: o.ID})
					results[i] = e
					if err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("enroll: %v", err)
			}
			enrolled, waitlisted := checkInvariants(t, w.db, o.ID)
			if enrolled != 30 || waitlisted != 470 {
				t.Fatalf("enrolled=%d waitlisted=%d, want 30 and 470", enrolled, waitlisted)
			}
			answered := map[int]bool{}
			for _, e := range results {
				if e.Status == models.StatusWaitlisted {
					answered[*e.WaitlistPosition] = true
				}
			}
			if len(answered) != 470 {
				t.Fatalf("answers carried %d distinct waitlist positions, want 470", len(answered))
			}
		})
	}
}

// TestEnrollConcurrentSameStudent races one student into several
// overlapping clubs at once: rule 5 must hold under concurrency (the
// student's row is locked on PostgreSQL; SQLite has one writer).
func TestEnrollConcurrentSameStudent(t *testing.T) {
	w := newWorld(t, mustDB(t), 5)
	var offs []models.Offering
	for i := 0; i < 8; i++ {
		offs = append(offs, w.offering(nil)) // all Tue/Thu 16:30-18:00
	}
	st := w.students(1)[0]
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, conflicts := 0, 0
	for _, o := range offs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := w.enroll(w.admin.Actor(), st.ID, o.ID)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, models.ErrScheduleConflict):
				conflicts++
			default:
				t.Errorf("enroll: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || conflicts != 7 {
		t.Fatalf("ok=%d conflicts=%d, want 1 and 7", ok, conflicts)
	}
	modelstest.CheckInvariants(t, w.db)
}

// TestConcurrentWithdrawAndEnroll mixes withdrawals (which promote) with
// new enrollments on one offering and checks the invariants after.
func TestConcurrentWithdrawAndEnroll(t *testing.T) {
	w := newWorld(t, mustDB(t), 2)
	o := w.offering(func(n *models.NewOffering) { n.Capacity = 10 })
	students := w.students(80)
	a := w.admin.Actor()
	var first []models.Enrollment
	for _, s := range students[:40] {
		e, err := w.enroll(a, s.ID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		first = append(first, e)
	}
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				if _, err := models.Withdraw(w.ctx, w.db, a, first[i].ID); err != nil {
					t.Errorf("withdraw: %v", err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := w.enroll(a, students[40+i].ID, o.ID); err != nil {
				t.Errorf("enroll: %v", err)
			}
		}()
	}
	wg.Wait()
	enrolled, waitlisted := checkInvariants(t, w.db, o.ID)
	if enrolled != 10 || waitlisted != 80-20-10 {
		t.Fatalf("enrolled=%d waitlisted=%d, want 10 and 50", enrolled, waitlisted)
	}
}

// TestEnrollConcurrentRules races one student at rules 2 and 6: twenty
// concurrent enrollments into one offering make exactly one; concurrent
// enrollments into four non-overlapping clubs with max_clubs 2 make
// exactly two.
func TestEnrollConcurrentRules(t *testing.T) {
	w := newWorld(t, mustDB(t), 2)
	race := func(n int, offering func(i int) int64, st models.Student) (ok int, errs map[string]int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		errs = map[string]int{}
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := w.enroll(w.admin.Actor(), st.ID, offering(i))
				mu.Lock()
				defer mu.Unlock()
				var me *models.Error
				switch {
				case err == nil:
					ok++
				case errors.As(err, &me):
					errs[me.Code]++
				default:
					t.Errorf("enroll: %v", err)
				}
			}()
		}
		wg.Wait()
		return ok, errs
	}
	ss := w.students(2)
	t.Run("rule2OneLiveEnrollment", func(t *testing.T) {
		o := w.offering(nil)
		ok, errs := race(20, func(int) int64 { return o.ID }, ss[0])
		if ok != 1 || errs["already_enrolled"] != 19 {
			t.Fatalf("ok=%d errors=%v", ok, errs)
		}
		checkInvariants(t, w.db, o.ID)
	})
	t.Run("rule6MaxClubs", func(t *testing.T) {
		var offs []int64
		for d := 1; d <= 4; d++ {
			offs = append(offs, w.offering(func(in *models.NewOffering) { in.Weekdays = []int{d} }).ID)
		}
		ok, errs := race(4, func(i int) int64 { return offs[i] }, ss[1])
		if ok != 2 || errs["limit_reached"] != 2 {
			t.Fatalf("ok=%d errors=%v", ok, errs)
		}
	})
}

// TestEnrollConcurrentNoWaitlist: without a waitlist a rush gets exactly
// the seats and "full" for everyone else, whether the reader or the writer
// saw it full first.
func TestEnrollConcurrentNoWaitlist(t *testing.T) {
	w := newWorld(t, mustDB(t), 2)
	off := false
	o := w.offering(func(n *models.NewOffering) { n.Capacity = 5; n.Waitlist = &off })
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, full := 0, 0
	for _, s := range w.students(60) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := w.enroll(w.admin.Actor(), s.ID, o.ID)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, models.ErrFull):
				full++
			default:
				t.Errorf("enroll: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 5 || full != 55 {
		t.Fatalf("ok=%d full=%d", ok, full)
	}
	if e, wl := checkInvariants(t, w.db, o.ID); e != 5 || wl != 0 {
		t.Fatalf("enrolled=%d waitlisted=%d", e, wl)
	}
}
