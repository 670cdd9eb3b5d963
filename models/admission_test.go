package models_test

import (
	"errors"
	"sync"
	"testing"

	"kehou/models"
)

// TestEnrollAdmission: past the bound on queued enrollments, Enroll answers
// ErrBusy at once and writes nothing; with the slot free again it enrolls.
func TestEnrollAdmission(t *testing.T) {
	w := newWorld(t, mustDB(t), 2)
	o := w.offering(nil)
	ss := w.students(1)
	w.db.LimitEnrollQueue(1)
	t.Cleanup(func() { w.db.LimitEnrollQueue(0) })
	a := w.admin.Actor()

	release, err := w.db.AdmitEnroll()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ErrBusyWhenFull", func(t *testing.T) {
		_, err := w.enroll(a, ss[0].ID, o.ID)
		var me *models.Error
		if !errors.Is(err, models.ErrBusy) || !errors.As(err, &me) || me.RetryAfter < 1 {
			t.Fatalf("enroll with the write path full = %v, want ErrBusy with RetryAfter", err)
		}
		if e, wl := checkInvariants(t, w.db, o.ID); e != 0 || wl != 0 {
			t.Fatalf("a refused enrollment wrote: enrolled=%d waitlisted=%d", e, wl)
		}
	})
	release()
	t.Run("enrollsWhenFree", func(t *testing.T) {
		e, err := w.enroll(a, ss[0].ID, o.ID)
		if err != nil || e.Status != models.StatusEnrolled {
			t.Fatalf("enroll = %+v, %v", e, err)
		}
	})
}

// TestEnrollAdmissionUnderRush: 200 concurrent enrollments for 30 seats with
// at most 4 queued: every answer is a seat, a waitlist place or ErrBusy,
// and the invariants hold (counters equal rows, positions gapless).
func TestEnrollAdmissionUnderRush(t *testing.T) {
	w := newWorld(t, mustDB(t), 2)
	o := w.offering(nil)
	ss := w.students(200)
	w.db.LimitEnrollQueue(4)
	t.Cleanup(func() { w.db.LimitEnrollQueue(0) })
	a := w.admin.Actor()
	var (
		mu                       sync.Mutex
		enrolled, waitlist, busy int
		wg                       sync.WaitGroup
	)
	for _, s := range ss {
		wg.Add(1)
		go func(id int64) {
			defer wg.Done()
			e, err := w.enroll(a, id, o.ID)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, models.ErrBusy):
				busy++
			case err != nil:
				t.Errorf("enroll %d: %v", id, err)
			case e.Status == models.StatusEnrolled:
				enrolled++
			default:
				waitlist++
			}
		}(s.ID)
	}
	wg.Wait()
	e, wl := checkInvariants(t, w.db, o.ID)
	if e != enrolled || wl != waitlist || enrolled+waitlist+busy != len(ss) || enrolled > 30 {
		t.Fatalf("answers enrolled=%d waitlisted=%d busy=%d; rows enrolled=%d waitlisted=%d", enrolled, waitlist, busy, e, wl)
	}
	t.Logf("enrolled=%d waitlisted=%d busy=%d", enrolled, waitlist, busy)
}
