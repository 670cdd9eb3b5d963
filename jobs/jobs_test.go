package jobs_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kehou/jobs"
	"kehou/models"
	"kehou/models/modelstest"
)

func runs(t *testing.T, db *models.DB, name string) []models.JobRun {
	t.Helper()
	rs, err := models.FindJobRuns(context.Background(), db, name, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestPanicRecordedAsFailed(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	r := jobs.New(db, nil, jobs.Options{Instance: "a"})
	r.Register(jobs.Job{Name: "boom", Run: func(context.Context, *models.DB, time.Time) (int64, error) {
		panic("kaboom")
	}})
	r.Register(jobs.Job{Name: "fails", Run: func(context.Context, *models.DB, time.Time) (int64, error) {
		return 3, errors.New("disk full")
	}})
	ctx := context.Background()

	t.Run("manualPanic", func(t *testing.T) {
		run, err := r.RunNow(ctx, "boom")
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != models.RunFailed || !strings.Contains(run.Error, "panic: kaboom") || run.EndedAt == nil {
			t.Fatalf("run = %+v", run)
		}
		stored := runs(t, db, "boom")
		if len(stored) != 1 || stored[0].Status != models.RunFailed || !strings.Contains(stored[0].Error, "kaboom") {
			t.Fatalf("stored = %+v", stored)
		}
	})
	t.Run("scheduledPanic", func(t *testing.T) {
		run, err := r.RunScheduled(ctx, "boom", "2026-10-15T02:00")
		if err != nil || run.Status != models.RunFailed || run.Trigger != models.TriggerScheduled {
			t.Fatalf("run = %+v, %v", run, err)
		}
	})
	t.Run("panicDoesNotWedgeTheJob", func(t *testing.T) {
		if _, err := r.RunNow(ctx, "boom"); err != nil {
			t.Fatalf("a job that panicked cannot run again: %v", err)
		}
	})
	t.Run("errorRecorded", func(t *testing.T) {
		run, err := r.RunNow(ctx, "fails")
		if err != nil || run.Status != models.RunFailed || run.Error != "disk full" || run.Rows != 3 {
			t.Fatalf("run = %+v, %v", run, err)
		}
	})
	t.Run("ErrUnknownJob", func(t *testing.T) {
		if _, err := r.RunNow(ctx, "nope"); !errors.Is(err, models.ErrUnknownJob) {
			t.Fatalf("got %v", err)
		}
	})
}

// blocker is a job that runs until released.
type blocker struct {
	started chan struct{}
	release chan struct{}
	calls   atomic.Int64
}

func newBlocker() *blocker {
	return &blocker{started: make(chan struct{}, 10), release: make(chan struct{})}
}

func (b *blocker) run(ctx context.Context, _ *models.DB, _ time.Time) (int64, error) {
	b.calls.Add(1)
	b.started <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return 1, nil
}

func TestRunningJobNotStartedTwice(t *testing.T) {
	url := modelstest.URL(t)
	db1, db2 := modelstest.Open(t, url), modelstest.Open(t, url)
	b := newBlocker()
	r1 := jobs.New(db1, nil, jobs.Options{Instance: "one"})
	r2 := jobs.New(db2, nil, jobs.Options{Instance: "two"})
	for _, r := range []*jobs.Runner{r1, r2} {
		r.Register(jobs.Job{Name: "slow", Run: b.run})
	}
	ctx := context.Background()
	done := make(chan models.JobRun)
	go func() {
		run, err := r1.RunNow(ctx, "slow")
		if err != nil {
			t.Error(err)
		}
		done <- run
	}()
	<-b.started

	t.Run("sameInstance409", func(t *testing.T) {
		if _, err := r1.RunNow(ctx, "slow"); !errors.Is(err, models.ErrJobRunning) {
			t.Fatalf("got %v, want ErrJobRunning", err)
		}
	})
	t.Run("otherInstance409", func(t *testing.T) {
		if _, err := r2.RunNow(ctx, "slow"); !errors.Is(err, models.ErrJobRunning) {
			t.Fatalf("got %v, want ErrJobRunning", err)
		}
	})
	t.Run("scheduledWhileRunningIsSkipped", func(t *testing.T) {
		run, err := r2.RunScheduled(ctx, "slow", "2026-10-15T10:30")
		if err != nil || run.Status != models.RunSkipped {
			t.Fatalf("run = %+v, %v", run, err)
		}
	})
	close(b.release)
	if run := <-done; run.Status != models.RunSucceeded || run.Rows != 1 {
		t.Fatalf("run = %+v", run)
	}
	if n := b.calls.Load(); n != 1 {
		t.Fatalf("job body ran %d times while running, want 1", n)
	}
	t.Run("lockReleasedAfterRun", func(t *testing.T) {
		b.release = make(chan struct{})
		close(b.release)
		if run, err := r2.RunNow(ctx, "slow"); err != nil || run.Status != models.RunSucceeded {
			t.Fatalf("run = %+v, %v", run, err)
		}
	})
}

// TestScheduledOnceAcrossInstances fires the same slot from two instances
// (two handles on one database, each with its own Runner), many times at
// once: exactly one run is recorded and the job body runs once.
func TestScheduledOnceAcrossInstances(t *testing.T) {
	url := modelstest.URL(t)
	dbs := []*models.DB{modelstest.Open(t, url), modelstest.Open(t, url)}
	var calls atomic.Int64
	job := jobs.Job{Name: "tick", Run: func(context.Context, *models.DB, time.Time) (int64, error) {
		calls.Add(1)
		time.Sleep(20 * time.Millisecond)
		return 0, nil
	}}
	var runners []*jobs.Runner
	for i, db := range dbs {
		r := jobs.New(db, nil, jobs.Options{Instance: []string{"a", "b"}[i]})
		r.Register(job)
		runners = append(runners, r)
	}
	ctx := context.Background()
	for _, slot := range []string{"2026-10-15T10:00", "2026-10-15T10:30"} {
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(r *jobs.Runner) {
				defer wg.Done()
				_, _ = r.RunScheduled(ctx, "tick", slot)
			}(runners[i%2])
		}
		wg.Wait()
	}
	rs := runs(t, dbs[0], "tick")
	if len(rs) != 2 || calls.Load() != 2 {
		t.Fatalf("%d runs recorded, body ran %d times; want 2 and 2 (one per slot): %+v", len(rs), calls.Load(), rs)
	}
	for _, r := range rs {
		if r.Status != models.RunSucceeded {
			t.Fatalf("run %+v", r)
		}
	}
}

func TestCronStartStop(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	var calls atomic.Int64
	r := jobs.New(db, nil, jobs.Options{})
	r.Register(jobs.Job{Name: "every", Schedule: "@every 1s", Run: func(context.Context, *models.DB, time.Time) (int64, error) {
		calls.Add(1)
		return 0, nil
	}})
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	r.Stop(context.Background())
	if calls.Load() == 0 {
		t.Fatal("cron never ran the job")
	}
	rs := runs(t, db, "every")
	slots := map[string]bool{}
	for _, run := range rs {
		if run.Trigger != models.TriggerScheduled || slots[run.Slot] {
			t.Fatalf("runs %+v: each slot (a minute) runs once", rs)
		}
		slots[run.Slot] = true
	}
	t.Run("badSchedule", func(t *testing.T) {
		r := jobs.New(db, nil, jobs.Options{})
		r.Register(jobs.Job{Name: "bad", Schedule: "not a schedule", Run: nil})
		if err := r.Start(); err == nil {
			t.Fatal("a bad schedule was accepted")
		}
	})
}

func TestSlotIsTheMinuteInShanghai(t *testing.T) {
	at := time.Date(2026, 10, 14, 18, 0, 59, 900, time.UTC) // 02:00:59 next day in Shanghai
	if got := jobs.Slot(at); got != "2026-10-15T02:00" {
		t.Fatalf("Slot = %s", got)
	}
}

// TestQuietJobRecordsOnlyWork: a quiet job's scheduled runs are recorded
// only when they wrote something or failed; its manual runs always are.
func TestQuietJobRecordsOnlyWork(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	r := jobs.New(db, nil, jobs.Options{Instance: "a"})
	var rows int64
	var fail error
	r.Register(jobs.Job{Name: "poll", Quiet: true, Run: func(context.Context, *models.DB, time.Time) (int64, error) {
		return rows, fail
	}})
	ctx := context.Background()
	for _, slot := range []string{"2026-10-15T10:00", "2026-10-15T10:01"} {
		if run, err := r.RunScheduled(ctx, "poll", slot); err != nil || run.Status != models.RunSucceeded {
			t.Fatalf("idle run %+v, %v", run, err)
		}
	}
	if rs := runs(t, db, "poll"); len(rs) != 0 {
		t.Fatalf("idle minutes recorded: %+v", rs)
	}
	rows = 2
	if _, err := r.RunScheduled(ctx, "poll", "2026-10-15T10:02"); err != nil {
		t.Fatal(err)
	}
	rows, fail = 0, errors.New("database is locked")
	if _, err := r.RunScheduled(ctx, "poll", "2026-10-15T10:03"); err != nil {
		t.Fatal(err)
	}
	fail = nil
	if run, err := r.RunNow(ctx, "poll"); err != nil || run.ID == 0 {
		t.Fatalf("manual run %+v, %v", run, err)
	}
	rs := runs(t, db, "poll") // newest first
	if len(rs) != 3 || rs[0].Trigger != models.TriggerManual || rs[1].Status != models.RunFailed ||
		rs[2].Status != models.RunSucceeded || rs[2].Rows != 2 || rs[2].EndedAt == nil {
		t.Fatalf("runs %+v; want the drawing run, the failed one and the manual one", rs)
	}
}
