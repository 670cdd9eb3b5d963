package models_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestEnrollBatchStatements: a batch sends the same fixed number of
// statements whatever it decides — seats, a waitlist place, a refusal, two
// offerings — so moving its counters through seats.go costs the rush's hot
// path nothing. The numbers are the batch's inside its transaction (BEGIN
// and COMMIT aside), measured before the seats moved to seats.go.
func TestEnrollBatchStatements(t *testing.T) {
	db := mustDB(t)
	w := newWorld(t, db, 2)
	a := w.offering(func(n *models.NewOffering) { n.Capacity = 2 })
	b := w.offering(func(n *models.NewOffering) { n.Name = "美术社"; n.Weekdays = []int{2} })
	ss := w.students(4)
	admin := w.admin.Actor()
	in := func(s models.Student, o models.Offering) models.NewEnrollment {
		return models.NewEnrollment{Actor: admin, StudentID: s.ID, OfferingID: o.ID}
	}
	n, errs := models.BatchStatements(w.ctx, db, []models.NewEnrollment{
		in(ss[0], a), in(ss[1], a), in(ss[2], a), // two seats, a waitlist place
		in(ss[0], a), // already enrolled
		in(ss[3], b), // a seat in another offering
	})
	for i, err := range errs {
		if (i == 3) != (err != nil) {
			t.Errorf("member %d: %v", i, err)
		}
	}
	want := 8
	if db.Dialect == models.Postgres {
		want = 3
	}
	if n != want {
		t.Errorf("the batch sent %d statements, want %d", n, want)
	}
	if e, q := checkInvariants(t, db, a.ID); e != 2 || q != 1 {
		t.Errorf("offering a: enrolled %d waitlisted %d, want 2 and 1", e, q)
	}
}

// TestOnlySeatsMovesCounters guards seats.go as the one writer of the
// offerings' counters (enrolled_count, waitlisted_count, applied_count):
// every non-test Go file of models is scanned for a statement or a GORM
// call that sets one (`enrolled_count =` in SQL, a "enrolled_count" key or
// column in Update/Updates/UpdateColumn, the Go fields through Update).
// A counter moved anywhere else would skip the capacity and zero guards,
// the waitlist's renumbering and the retiring of the caches.
func TestOnlySeatsMovesCounters(t *testing.T) {
	writes := []*regexp.Regexp{
		regexp.MustCompile(`(enrolled|waitlisted|applied)_count\s*=[^=]`),
		regexp.MustCompile(`"(enrolled|waitlisted|applied)_count"\s*:`),
		regexp.MustCompile(`Update(Column)?s?\(\s*"(enrolled|waitlisted|applied)_count"`),
		regexp.MustCompile(`\.(EnrolledCount|WaitlistedCount|AppliedCount)\s*(\+\+|--|[-+]?=[^=])`),
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	scanned := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "seats.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		scanned++
		for n, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			for _, re := range writes {
				if re.MatchString(line) {
					t.Errorf("%s:%d writes an offering's counter outside seats.go: %s", f, n+1, strings.TrimSpace(line))
				}
			}
		}
	}
	if scanned < 50 {
		t.Fatalf("scanned %d files: not the models package?", scanned)
	}
	// The guard sees a write: seats.go itself has them.
	b, err := os.ReadFile("seats.go")
	if err != nil {
		t.Fatal(err)
	}
	if !writes[0].Match(b) {
		t.Fatal("seats.go has no counter write the scan recognises")
	}
}

// TestSeatsMoveTogether: freeSeats and takeSeats move many enrollments at
// once — two waitlist places freed together close up to 1..n, a seat and
// the waitlist's head freed together give the seat to the next head, a
// seat is never taken past capacity (ErrFull, nothing moved), an ended
// enrollment is not freed twice (ErrNotLive) — and freeing a seat retires
// the sold-out answer inside models, in a plain transaction no handler
// and no writeOfferings marked.
func TestSeatsMoveTogether(t *testing.T) {
	w := newWorld(t, mustDB(t), 2)
	o := w.offering(func(n *models.NewOffering) { n.Capacity = 2 })
	ss := w.students(7)
	ids := make([]int64, len(ss))
	for i, s := range ss {
		e, err := w.enroll(w.admin.Actor(), s.ID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = e.ID
	}
	// ids[0], ids[1] enrolled; ids[2..6] waitlisted 1..5.
	places := func() map[int64]string {
		t.Helper()
		var rows []models.Enrollment
		if err := w.db.R.Where("offering_id = ?", o.ID).Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		out := map[int64]string{}
		for _, e := range rows {
			s := string(e.Status)
			if e.WaitlistPosition != nil {
				s += fmt.Sprint(*e.WaitlistPosition)
			}
			out[e.ID] = s
		}
		return out
	}
	want := func(step string, m map[int64]string) {
		t.Helper()
		got := places()
		for id, s := range m {
			if got[id] != s {
				t.Errorf("%s: enrollment %d is %s, want %s", step, id, got[id], s)
			}
		}
		modelstest.CheckInvariants(t, w.db)
	}
	if err := models.FreeSeats(w.ctx, w.db, o.ID, []int64{ids[3], ids[5]}); err != nil {
		t.Fatal(err)
	}
	want("places 2 and 4 freed", map[int64]string{ids[2]: "waitlisted1", ids[3]: "withdrawn", ids[4]: "waitlisted2",
		ids[5]: "withdrawn", ids[6]: "waitlisted3"})
	if err := models.FreeSeats(w.ctx, w.db, o.ID, []int64{ids[0], ids[2]}); err != nil {
		t.Fatal(err)
	}
	want("a seat and the head freed", map[int64]string{ids[0]: "withdrawn", ids[1]: "enrolled", ids[2]: "withdrawn",
		ids[4]: "enrolled", ids[6]: "waitlisted1"})
	if err := models.TakeSeats(w.ctx, w.db, o.ID, []int64{ids[6]}); !errors.Is(err, models.ErrFull) {
		t.Fatalf("a seat past capacity: %v, want ErrFull", err)
	}
	want("past capacity refused", map[int64]string{ids[6]: "waitlisted1"})
	if err := models.FreeSeats(w.ctx, w.db, o.ID, []int64{ids[0]}); !errors.Is(err, models.ErrNotLive) {
		t.Fatalf("freed twice: %v, want ErrNotLive", err)
	}

	// The sold-out answer is retired by freeSeats itself.
	off := false
	full := w.offering(func(n *models.NewOffering) {
		n.Name = "美术社"
		n.Capacity = 1
		n.Waitlist = &off
		n.Weekdays = []int{2}
	})
	more := w.students(2)
	seat, err := w.enroll(w.admin.Actor(), more[0].ID, full.ID)
	if err != nil {
		t.Fatal(err)
	}
	p := modelstest.Parent(t, w.db, more[1].ID).Actor()
	in := models.NewEnrollment{Actor: p, StudentID: more[1].ID, OfferingID: full.ID}
	if _, err := models.Enroll(w.ctx, w.db, in); !errors.Is(err, models.ErrFull) || !models.SoldOutCached(w.db, full.ID) {
		t.Fatalf("full: %v, cached %v", err, models.SoldOutCached(w.db, full.ID))
	}
	if err := models.FreeSeats(w.ctx, w.db, full.ID, []int64{seat.ID}); err != nil {
		t.Fatal(err)
	}
	if models.SoldOutCached(w.db, full.ID) {
		t.Fatal("sold out still cached after freeSeats")
	}
	if e, err := models.Enroll(w.ctx, w.db, in); err != nil || e.Status != models.StatusEnrolled {
		t.Fatalf("after the seat was freed: %+v, %v", e, err)
	}
}
