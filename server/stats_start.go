package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"kehou/jobs"
	"kehou/models"
)

// statsAtStart runs the stats job in the background when today's snapshot
// is missing, so a fresh deployment (or one that was down at the half
// hour) never shows "no_snapshot" dashboards until the schedule comes
// round. Across instances starting together it runs once: the run claims
// the slot "start:<date>" as a scheduled run claims its minute. The
// returned WaitGroup is done when the run has ended.
func statsAtStart(ctx context.Context, db *models.DB, runner *jobs.Runner, log *slog.Logger, now time.Time) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		date := models.LocalDate(now)
		ok, err := models.SnapshotExists(ctx, db, date)
		if err != nil {
			log.Warn("stats at start: could not look for today's snapshot", "error", err.Error())
			return
		}
		if ok {
			return
		}
		run, err := runner.RunScheduled(ctx, jobs.Stats.Name, "start:"+date)
		if err != nil {
			log.Debug("stats at start: not run here", "reason", err.Error())
			return
		}
		log.Info("stats at start: today's snapshot computed", "run_id", run.ID, "status", run.Status)
	}()
	return &wg
}
