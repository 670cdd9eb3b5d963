package models_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"kehou/models"
	"kehou/models/modelstest"
)

// How a stats run behaves as a job, beside what it computes (stats_test.go).

// TestComputeStatsDoesNotBlockWriters writes a student while the job is
// computing (from its step observer, so the job waits for the write): the
// write goes through, where a job holding the write lock would leave it
// waiting until its deadline, and the snapshot is of one consistent moment,
// without the new student.
func TestComputeStatsDoesNotBlockWriters(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	region := modelstest.Region(t, db, nil)
	school := modelstest.School(t, db, region.ID)
	modelstest.Student(t, db, school.ID, 1, "")
	wrote := false
	models.ObserveStats(db, func(step string) {
		if step != "t_stu" {
			return
		}
		// The deadline only ends a write that would otherwise wait for
		// the job forever; nothing here measures how long it took.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := db.Tx(ctx, func(tx *gorm.DB) error {
			return tx.Exec(`INSERT INTO students (school_id, student_no, name, gender, grade, active, created_at, updated_at)
				VALUES (?, 'late', '晚到', '女', 1, TRUE, ?, ?)`, school.ID, time.Now().UTC(), time.Now().UTC()).Error
		})
		if err != nil {
			t.Errorf("a write during the stats job failed: %v", err)
		}
		wrote = err == nil
	})
	if _, err := models.ComputeStats(context.Background(), db, statsDay, time.Now()); err != nil {
		t.Fatal(err)
	}
	if !wrote {
		t.Fatal("no write during the job")
	}
	if got := snap(t, db, models.ScopeSchool, school.ID).Students; got != 1 {
		t.Fatalf("students = %d, want 1 (the snapshot predates the write)", got)
	}
}

func TestComputeStatsBadDate(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	for _, d := range []string{"", "2026-10-1", "2026-02-30", "15/10/2026"} {
		if _, err := models.ComputeStats(context.Background(), db, d, time.Now()); err == nil {
			t.Errorf("date %q accepted", d)
		}
	}
}

// TestStartStatsViewFixedWhenItReturns writes a student once StartStats has
// returned and before its run ends: the snapshot it writes predates the
// write (its view was fixed when it returned), and a later run sees it.
func TestStartStatsViewFixedWhenItReturns(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	region := modelstest.Region(t, db, nil)
	school := modelstest.School(t, db, region.ID)
	modelstest.Student(t, db, school.ID, 1, "")
	// The run waits at its second step until the write below is done, so
	// the write surely lands while it computes.
	written := make(chan struct{})
	models.ObserveStats(db, func(step string) {
		if step == "t_term" {
			<-written
		}
	})
	wait := models.StartStats(context.Background(), db, statsDay, time.Now())
	modelstest.Student(t, db, school.ID, 2, "")
	close(written)
	if _, err := wait(); err != nil {
		t.Fatal(err)
	}
	if got := snap(t, db, models.ScopeSchool, school.ID).Students; got != 1 {
		t.Fatalf("students = %d, want 1 (written after StartStats returned)", got)
	}
	models.ObserveStats(db, nil)
	if _, err := models.ComputeStats(context.Background(), db, statsDay, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := snap(t, db, models.ScopeSchool, school.ID).Students; got != 2 {
		t.Fatalf("students = %d after a new run, want 2", got)
	}
}

func TestStartStatsBadDate(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	if _, err := models.StartStats(context.Background(), db, "2026-02-30", time.Now())(); err == nil {
		t.Fatal("bad date accepted")
	}
}
