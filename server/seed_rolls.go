package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"kehou/models"
)

// demoSessions generates the sessions of the plans' offerings as they were
// published — before the term started — and lists them by date up to today.
func demoSessions(ctx context.Context, db *models.DB, staff models.Actor, plans []demoTermPlan, today time.Time) (map[string][]models.SessionView, error) {
	out := map[string][]models.SessionView{}
	to := today.Format(time.DateOnly)
	for _, p := range plans {
		offs := append([]models.Offering{p.basic}, p.clubs...)
		offs = append(offs, p.lottery...)
		for _, o := range offs {
			if err := models.SyncSessions(ctx, db, o.ID, p.starts.Add(-24*time.Hour)); err != nil {
				return nil, fmt.Errorf("sessions of %s: %w", o.Name, err)
			}
			ss, err := models.FindOfferingSessions(ctx, db, staff, o.ID, p.starts.Format(time.DateOnly), to,
				models.Paging{Limit: models.MaxSessionsPage})
			if err != nil {
				return nil, fmt.Errorf("sessions of %s: %w", o.Name, err)
			}
			for _, s := range ss {
				out[s.Date] = append(out[s.Date], s)
			}
		}
	}
	return out, nil
}

// demoRolls takes the roll of each of the day's sessions that has started
// by clock, as the school would that afternoon: leave filed beforehand
// stays leave, and a few children are absent, on leave or late. The base
// service (nearly every child, every day) has its rolls for the last week
// only (withBasic), which keeps the seed within seconds; the clubs have
// theirs every day. In the last two weeks (loop) the rest of the daily
// loop happens too (demoRoll); it answers the absences the school will
// correct the next morning.
func demoRolls(ctx context.Context, db *models.DB, staff models.Actor, sessions []models.SessionView, day int, withBasic, loop bool, clock time.Time, hist *demoHistory) ([]demoFix, error) {
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		fixes    []demoFix
	)
	work := make(chan models.SessionView)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				var h demoHistory
				fix, err := demoRoll(ctx, db, staff, s, day, loop, clock, &h)
				mu.Lock()
				hist.Marks += h.Marks
				hist.Rolls += h.Rolls
				hist.Arrivals += h.Arrivals
				hist.Dismissals += h.Dismissals
				if fix != nil {
					fixes = append(fixes, *fix)
				}
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("roll of session %d: %w", s.ID, err)
				}
				mu.Unlock()
			}
		}()
	}
	for _, s := range sessions {
		if s.OfferingKind == models.KindBasic && !withBasic {
			continue
		}
		if s.Status == models.SessionScheduled && !clock.Before(s.StartsAt()) {
			work <- s
		}
	}
	close(work)
	wg.Wait()
	return fixes, firstErr
}

// demoRoll takes session s's roll ten minutes after it starts. With loop,
// then: one in three absent children turns up twenty minutes later (marked
// late: the family, alerted, hears "已到"); once the session has ended the
// children who came are dismissed; and about one absent child in twelve is
// an absence the school corrects the next morning (the fix answered).
func demoRoll(ctx context.Context, db *models.DB, staff models.Actor, s models.SessionView, day int, loop bool, clock time.Time, hist *demoHistory) (*demoFix, error) {
	// The teacher an offering names takes its roll; the others are taken
	// by the platform's staff account.
	if s.TeacherUserID != nil {
		staff = models.Actor{UserID: *s.TeacherUserID, Role: models.RoleTeacher, SchoolID: s.SchoolID}
	}
	roll, err := models.FindRoll(ctx, db, staff, s.ID)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(s.ID), uint64(day)))
	marked := s.StartsAt().Add(10 * time.Minute)
	if marked.After(clock) {
		marked = clock
	}
	recs := make([]models.MarkRecord, 0, len(roll.Entries))
	grade := make(map[int64]int, len(roll.Entries))
	for _, e := range roll.Entries {
		st := models.MarkPresent
		switch x := rng.Float64(); {
		case e.Status != nil && *e.Status == models.MarkLeave:
			st = models.MarkLeave
		case x < 0.025:
			st = models.MarkAbsent
		case x < 0.040:
			st = models.MarkLeave
		case x < 0.050:
			st = models.MarkLate
		}
		recs = append(recs, models.MarkRecord{StudentID: e.StudentID, Status: st})
		grade[e.StudentID] = e.Grade
	}
	for rest := recs; len(rest) > 0; {
		n := min(len(rest), models.MaxRollRecords)
		if _, err := models.MarkAttendance(ctx, db, staff, s.ID, rest[:n], "", marked); err != nil {
			return nil, err
		}
		rest = rest[n:]
	}
	hist.Marks += len(recs)
	if len(recs) > 0 {
		hist.Rolls++
	}
	if !loop {
		return nil, nil
	}
	var fix *demoFix
	if arrived := marked.Add(20 * time.Minute); !arrived.After(clock) {
		for i, r := range recs {
			if r.Status != models.MarkAbsent {
				continue
			}
			if rng.IntN(3) > 0 {
				if fix == nil && rng.IntN(8) == 0 {
					fix = &demoFix{session: s.ID, student: r.StudentID}
				}
				continue
			}
			if _, err := models.MarkAttendance(ctx, db, staff, s.ID, []models.MarkRecord{{StudentID: r.StudentID, Status: models.MarkLate}}, "", arrived); err != nil {
				return nil, err
			}
			recs[i].Status = models.MarkLate
			hist.Arrivals++
		}
	}
	// The children leave in the quarter of an hour after the end; what the
	// teacher recorded as each left is written here in one POST, each child
	// at the time they left (one transaction a session keeps the seed
	// quick), and each family hears once.
	recorded := s.EndsAt().Add(20 * time.Minute)
	if recorded.After(clock) {
		return fix, nil
	}
	var out []models.DismissalRecord
	for _, r := range recs {
		if r.Status != models.MarkPresent && r.Status != models.MarkLate {
			continue
		}
		by := models.DismissedGuardian
		switch x := rng.Float64(); {
		case x < 0.10:
			by = models.DismissedBus
		case x < 0.12:
			by = models.DismissedOther
		case x < 0.27 && grade[r.StudentID] >= 4:
			by = models.DismissedSelf
		}
		left := s.EndsAt().Add(time.Duration(rng.IntN(16)) * time.Minute)
		out = append(out, models.DismissalRecord{StudentID: r.StudentID, By: by, At: &left})
	}
	for rest := out; len(rest) > 0; {
		n := min(len(rest), models.MaxRollRecords)
		if _, err := models.RecordDismissal(ctx, db, staff, s.ID, rest[:n], "", recorded); err != nil {
			return nil, err
		}
		hist.Dismissals += n
		rest = rest[n:]
	}
	return fix, nil
}
