package models_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

func TestDrawOrder(t *testing.T) {
	ids := []int64{5, 3, 9, 1, 7, 2}
	a := models.DrawOrder(42, ids)
	t.Run("reproducibleFromSeed", func(t *testing.T) {
		if b := models.DrawOrder(42, []int64{1, 2, 3, 5, 7, 9}); !slices.Equal(a, b) {
			t.Fatalf("same seed, same applicants: %v vs %v", a, b)
		}
	})
	t.Run("permutation", func(t *testing.T) {
		s := slices.Clone(a)
		slices.Sort(s)
		if !slices.Equal(s, []int64{1, 2, 3, 5, 7, 9}) {
			t.Fatalf("not a permutation: %v", a)
		}
	})
	t.Run("seedMatters", func(t *testing.T) {
		differs := 0
		for seed := int64(1); seed <= 20; seed++ {
			if !slices.Equal(models.DrawOrder(seed, ids), a) {
				differs++
			}
		}
		if differs < 15 {
			t.Fatalf("only %d of 20 seeds gave another order", differs)
		}
	})
}

// TestLotteryFairness: over 1000 seeded draws of 10 applicants for 3 seats,
// each applicant wins close to 3/10 of the time, and each is first in the
// order close to 1/10 of the time.
func TestLotteryFairness(t *testing.T) {
	const draws, n = 1000, 10
	applicants := make([]int64, n)
	prefs := map[int64][]int64{}
	for i := range applicants {
		applicants[i] = int64(100 + i)
		prefs[applicants[i]] = []int64{1}
	}
	wins := map[int64]int{}
	firsts := map[int64]int{}
	for seed := int64(1); seed <= draws; seed++ {
		order := models.DrawOrder(seed, applicants)
		firsts[order[0]]++
		for s := range models.SerialDictatorship(order, prefs, map[int64]int{1: 3}, nil) {
			wins[s]++
		}
	}
	for _, s := range applicants {
		if rate := float64(wins[s]) / draws; math.Abs(rate-0.3) > 0.06 {
			t.Errorf("applicant %d won %.3f of draws, want 0.3±0.06", s, rate)
		}
		if rate := float64(firsts[s]) / draws; math.Abs(rate-0.1) > 0.05 {
			t.Errorf("applicant %d drawn first %.3f of draws, want 0.1±0.05", s, rate)
		}
	}
}

// TestSerialDictatorshipRank: each applicant in order gets its
// highest-ranked offering with a seat left that ok allows.
func TestSerialDictatorshipRank(t *testing.T) {
	prefs := map[int64][]int64{1: {10, 20}, 2: {10, 20}, 3: {10, 20}, 4: {20, 10}}
	got := models.SerialDictatorship([]int64{2, 4, 1, 3}, prefs, map[int64]int{10: 1, 20: 2},
		func(s, o int64) bool { return !(s == 1 && o == 20) })
	want := map[int64]int64{2: 10, 4: 20, 3: 20}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for s, o := range want {
		if got[s] != o {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

// lotteryWorld has two lottery clubs whose window has closed, and n students
// who applied (by staff, who may) with the given preferences.
func lotteryWorld(t *testing.T, db *models.DB, n int) (*world, models.Offering, models.Offering, []models.Student) {
	t.Helper()
	w := newWorld(t, db, 2)
	opens, closes := time.Now().Add(-2*time.Hour), time.Now().Add(-time.Minute)
	lot := func(name string, capacity int, weekdays []int) func(*models.NewOffering) {
		return func(in *models.NewOffering) {
			in.Name, in.Capacity, in.Mode, in.Weekdays = name, capacity, models.ModeLottery, weekdays
			in.EnrollOpensAt, in.EnrollClosesAt = &opens, &closes
		}
	}
	a := w.offering(lot("机器人", 2, []int{1}))
	b := w.offering(lot("围棋", 1, []int{3}))
	return w, a, b, w.students(n)
}

func (w *world) apply(studentID, offeringID int64, rank int) models.Enrollment {
	w.t.Helper()
	e, err := models.Enroll(w.ctx, w.db, models.NewEnrollment{Actor: w.admin.Actor(), StudentID: studentID,
		OfferingID: offeringID, Rank: &rank})
	if err != nil {
		w.t.Fatal(err)
	}
	if e.Status != models.StatusApplied || e.Rank != rank {
		w.t.Fatalf("application = %+v", e)
	}
	return e
}

func TestRunLottery(t *testing.T) {
	w, a, b, ss := lotteryWorld(t, mustDB(t), 6)
	for i, s := range ss {
		modelstest.Parent(t, w.db, s.ID)
		if i%2 == 0 {
			w.apply(s.ID, a.ID, 1)
			w.apply(s.ID, b.ID, 2)
		} else {
			w.apply(s.ID, b.ID, 1)
			w.apply(s.ID, a.ID, 2)
		}
	}
	if o := w.offeringNow(a.ID); o.AppliedCount != 6 || o.EnrolledCount != 0 {
		t.Fatalf("before draw: %+v", o)
	}
	t.Run("ErrRankTaken", func(t *testing.T) {
		extra := w.offering(func(in *models.NewOffering) { in.Mode = models.ModeLottery; in.Weekdays = []int{5} })
		one := 1
		_, err := models.Enroll(w.ctx, w.db, models.NewEnrollment{Actor: w.admin.Actor(), StudentID: ss[0].ID, OfferingID: extra.ID, Rank: &one})
		var ve *models.ValidationError
		if !errors.As(err, &ve) || ve.Fields["rank"] == "" {
			t.Fatalf("duplicate rank: %v", err)
		}
	})
	// The seeds were committed at publication: hashes public, seeds not.
	var seeds []string
	for _, o := range []models.Offering{w.offeringNow(a.ID), w.offeringNow(b.ID)} {
		if o.LotterySeed == nil || o.SeedSHA256 == nil || models.SeedSHA256(*o.LotterySeed) != *o.SeedSHA256 || o.RevealedSeed() != nil {
			t.Fatalf("offering %d before the draw: seed %v sha %v revealed %v", o.ID, o.LotterySeed, o.SeedSHA256, o.RevealedSeed())
		}
		seeds = append(seeds, *o.LotterySeed)
	}
	seed := models.DrawSeed(seeds)
	d, err := models.RunLottery(w.ctx, w.db, models.SystemActor, w.school.ID, w.term.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Seed != strconv.FormatInt(seed, 10) || d.Assigned != 3 || d.Rejected != 3 {
		t.Fatalf("draw = %+v, want seed %d", d, seed)
	}
	if got := d.OfferingSeeds(); got[a.ID] != seeds[0] || got[b.ID] != seeds[1] {
		t.Fatalf("revealed seeds %v", got)
	}
	if o := w.offeringNow(a.ID); o.RevealedSeed() == nil || *o.RevealedSeed() != seeds[0] {
		t.Fatalf("seed not revealed on the drawn offering: %+v", o)
	}
	var detail models.DrawDetail
	if err := json.Unmarshal([]byte(d.Detail), &detail); err != nil {
		t.Fatal(err)
	}
	t.Run("reproducibleFromRecord", func(t *testing.T) {
		var ids []int64
		for s := range detail.Prefs {
			ids = append(ids, s)
		}
		order := models.DrawOrder(seed, ids)
		if !slices.Equal(order, detail.Order) {
			t.Fatalf("order %v, recorded %v", order, detail.Order)
		}
		seats := map[int64]int{}
		for _, o := range detail.Offerings {
			seats[o.ID] = o.Seats
		}
		again := models.SerialDictatorship(order, detail.Prefs, seats, nil)
		if len(again) != len(detail.Result) {
			t.Fatalf("re-run %v, recorded %v", again, detail.Result)
		}
		for s, o := range again {
			if detail.Result[s] != o {
				t.Fatalf("re-run %v, recorded %v", again, detail.Result)
			}
		}
	})
	t.Run("rowsMatchResult", func(t *testing.T) {
		for _, s := range ss {
			var rows []models.Enrollment
			w.db.R.Where("student_id = ?", s.ID).Find(&rows)
			won := detail.Result[s.ID]
			for _, e := range rows {
				want := models.StatusRejected
				if e.OfferingID == won {
					want = models.StatusEnrolled
				}
				if e.Status != want {
					t.Fatalf("student %d offering %d: %s, want %s", s.ID, e.OfferingID, e.Status, want)
				}
			}
			if outboxCount(t, w.db, models.NotifyLotteryResult, s.ID) != 1 {
				t.Fatalf("student %d not told the result", s.ID)
			}
		}
		oa, ob := w.offeringNow(a.ID), w.offeringNow(b.ID)
		if oa.EnrolledCount != 2 || ob.EnrolledCount != 1 || oa.AppliedCount != 0 || oa.DrawnAt == nil || ob.DrawID == nil {
			t.Fatalf("offerings after draw: %+v %+v", oa, ob)
		}
		checkInvariants(t, w.db, a.ID)
	})
	t.Run("rankRespected", func(t *testing.T) {
		// Whoever was drawn first got their first choice.
		firstChoice := detail.Prefs[detail.Order[0]][0]
		if detail.Result[detail.Order[0]] != firstChoice {
			t.Fatalf("first in order got %d, first choice %d", detail.Result[detail.Order[0]], firstChoice)
		}
	})
	t.Run("ErrNothingToDrawSecondRun", func(t *testing.T) {
		if _, err := models.RunLottery(w.ctx, w.db, w.admin.Actor(), w.school.ID, w.term.ID); !errors.Is(err, models.ErrNothingToDraw) {
			t.Fatalf("second run: %v", err)
		}
		n, err := models.DrawDueLotteries(w.ctx, w.db, time.Now())
		if err != nil || n != 0 {
			t.Fatalf("job after draw: %d %v", n, err)
		}
		if o := w.offeringNow(a.ID); o.EnrolledCount != 2 {
			t.Fatalf("second run changed seats: %+v", o)
		}
	})
	t.Run("ErrForbiddenTeacher", func(t *testing.T) {
		teacher := modelstest.Staff(t, w.db, models.RoleTeacher, w.school.ID, 0)
		if _, err := models.RunLottery(w.ctx, w.db, teacher.Actor(), w.school.ID, w.term.ID); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("teacher: %v", err)
		}
	})
}

// TestLotterySameSeedSameResult runs two identical worlds with one seed:
// the same students (by position) win the same offerings.
func TestLotterySameSeedSameResult(t *testing.T) {
	result := func() []string {
		w, a, b, ss := lotteryWorld(t, mustDB(t), 5)
		for _, s := range ss {
			w.apply(s.ID, a.ID, 1)
			w.apply(s.ID, b.ID, 2)
		}
		// The same committed seeds in both worlds.
		for i, o := range []int64{a.ID, b.ID} {
			seed := fmt.Sprintf("%064d", i+7)
			if err := w.db.W.Exec("UPDATE offerings SET lottery_seed = ?, seed_sha256 = ? WHERE id = ?", seed, models.SeedSHA256(seed), o).Error; err != nil {
				t.Fatal(err)
			}
		}
		if _, err := models.RunLottery(w.ctx, w.db, models.SystemActor, w.school.ID, w.term.ID); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range ss {
			var st []string
			w.db.R.Raw("SELECT status FROM enrollments WHERE student_id = ? ORDER BY offering_id", s.ID).Scan(&st)
			out = append(out, st...)
		}
		return out
	}
	if a, b := result(), result(); !slices.Equal(a, b) {
		t.Fatalf("same seed, different results:\n%v\n%v", a, b)
	}
}

// TestLotterySkipsConflicts: an applicant who has since enrolled in a club
// overlapping its first choice gets its second choice (rule 5 at the draw).
func TestLotterySkipsConflicts(t *testing.T) {
	w, a, b, ss := lotteryWorld(t, mustDB(t), 1)
	w.apply(ss[0].ID, a.ID, 1)
	w.apply(ss[0].ID, b.ID, 2)
	fcfs := w.offering(func(in *models.NewOffering) { in.Name = "书法"; in.Weekdays = []int{1} }) // overlaps a (Monday)
	if e, err := w.enroll(w.admin.Actor(), ss[0].ID, fcfs.ID); err != nil || e.Status != models.StatusEnrolled {
		t.Fatalf("fcfs enroll: %+v %v", e, err)
	}
	if _, err := models.RunLottery(w.ctx, w.db, w.admin.Actor(), w.school.ID, w.term.ID); err != nil {
		t.Fatal(err)
	}
	var won []int64
	w.db.R.Raw("SELECT offering_id FROM enrollments WHERE student_id = ? AND status = ? ORDER BY offering_id", ss[0].ID, models.StatusEnrolled).Scan(&won)
	if !slices.Equal(won, []int64{b.ID, fcfs.ID}) {
		t.Fatalf("enrolled in %v, want [%d %d]", won, b.ID, fcfs.ID)
	}
}

func TestDrawDueLotteries(t *testing.T) {
	w, a, _, ss := lotteryWorld(t, mustDB(t), 3)
	for _, s := range ss {
		w.apply(s.ID, a.ID, 1)
	}
	n, err := models.DrawDueLotteries(w.ctx, w.db, time.Now())
	if err != nil || n != 1 {
		t.Fatalf("job: %d %v", n, err)
	}
	var draws []models.Draw
	w.db.R.Find(&draws)
	if len(draws) != 1 || draws[0].RunBy != nil || draws[0].Assigned != 2 || draws[0].Rejected != 1 {
		t.Fatalf("draws = %+v", draws)
	}
	if _, err := strconv.ParseInt(draws[0].Seed, 10, 64); err != nil {
		t.Fatalf("seed %q", draws[0].Seed)
	}
	if n, err = models.DrawDueLotteries(w.ctx, w.db, time.Now()); err != nil || n != 0 {
		t.Fatalf("second job run: %d %v", n, err)
	}
}

// TestEnrollAfterAnotherInstanceDrew: the draw ran on another instance, so
// this one's cached copy of the offering (trusted for a second) still says
// undrawn; an enrollment is decided on the fresh row all the same: a place
// on the full club's waitlist, not a lottery application.
func TestEnrollAfterAnotherInstanceDrew(t *testing.T) {
	url := modelstest.URL(t)
	db1, db2 := modelstest.Open(t, url), modelstest.Open(t, url)
	w, a, _, ss := lotteryWorld(t, db1, 4)
	for _, s := range ss[:3] {
		w.apply(s.ID, a.ID, 1) // and db1 caches a as undrawn
	}
	if _, err := models.RunLottery(w.ctx, db2, models.SystemActor, w.school.ID, w.term.ID); err != nil {
		t.Fatal(err)
	}
	e, err := models.Enroll(w.ctx, db1, models.NewEnrollment{Actor: w.admin.Actor(), StudentID: ss[3].ID, OfferingID: a.ID})
	if err != nil || e.Status != models.StatusWaitlisted || e.WaitlistPosition == nil || *e.WaitlistPosition != 1 {
		t.Fatalf("enrollment after the draw: %+v %v, want waitlisted 1", e, err)
	}
	if o := w.offeringNow(a.ID); o.AppliedCount != 0 || o.EnrolledCount != 2 || o.WaitlistedCount != 1 {
		t.Fatalf("offering after a late enrollment: %+v", o)
	}
}
