package main

import (
	"context"
	"testing"
	"time"

	"kehou/jobs"
	"kehou/models"
)

// TestStatsAtStart: a start without today's snapshot computes it once, even
// when two instances start together; a start with it does nothing.
func TestStatsAtStart(t *testing.T) {
	w := newSurveyWorld(t)
	db := w.s.db
	ctx := context.Background()
	now := time.Now()
	today := models.LocalDate(now)
	runners := make([]*jobs.Runner, 2)
	for i := range runners {
		runners[i] = jobs.New(db, w.s.api.Log, jobs.Options{Instance: []string{"a", "b"}[i]})
		runners[i].Register(jobs.Stats)
	}
	a := statsAtStart(ctx, db, runners[0], w.s.api.Log, now)
	b := statsAtStart(ctx, db, runners[1], w.s.api.Log, now)
	a.Wait()
	b.Wait()
	if ok, err := models.SnapshotExists(ctx, db, today); err != nil || !ok {
		t.Fatalf("no snapshot for %s after start (%v)", today, err)
	}
	runs, err := models.FindJobRuns(ctx, db, jobs.Stats.Name, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Slot != "start:"+today || runs[0].Status != models.RunSucceeded {
		t.Fatalf("runs %+v", runs)
	}
	statsAtStart(ctx, db, runners[0], w.s.api.Log, now.Add(time.Minute)).Wait()
	if runs, _ := models.FindJobRuns(ctx, db, jobs.Stats.Name, 0, 10); len(runs) != 1 {
		t.Fatalf("a start with today's snapshot ran the job again: %+v", runs)
	}
}
