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
// theirs every day.
func demoRolls(ctx context.Context, db *models.DB, staff models.Actor, sessions []models.SessionView, day int, withBasic bool, clock time.Time, hist *demoHistory) error {
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan models.SessionView)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				n, err := demoRoll(ctx, db, staff, s, day, clock)
				mu.Lock()
				hist.Marks += n
				if n > 0 {
					hist.Rolls++
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
	return firstErr
}

func demoRoll(ctx context.Context, db *models.DB, staff models.Actor, s models.SessionView, day int, clock time.Time) (int, error) {
	// The teacher an offering names takes its roll; the others are taken
	// by the platform's staff account.
	if s.TeacherUserID != nil {
		staff = models.Actor{UserID: *s.TeacherUserID, Role: models.RoleTeacher, SchoolID: s.SchoolID}
	}
	roll, err := models.FindRoll(ctx, db, staff, s.ID)
	if err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewPCG(uint64(s.ID), uint64(day)))
	recs := make([]models.MarkRecord, 0, len(roll.Entries))
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
	}
	for len(recs) > 0 {
		n := min(len(recs), models.MaxRollRecords)
		if _, err := models.MarkAttendance(ctx, db, staff, s.ID, recs[:n], "", clock); err != nil {
			return 0, err
		}
		recs = recs[n:]
	}
	return len(roll.Entries), nil
}
