package models_test

import (
	"context"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestParentHasChildInSchool covers the answers of ParentHasChildInSchool:
// linked child in the school, child in another school, no child.
func TestParentHasChildInSchool(t *testing.T) {
	ctx := context.Background()
	db := modelstest.MustOpenDB(t)
	r := modelstest.Region(t, db, nil)
	a, b := modelstest.School(t, db, r.ID), modelstest.School(t, db, r.ID)
	for i := 0; i < 20; i++ {
		modelstest.Student(t, db, a.ID, 3, "")
	}
	kid := modelstest.Student(t, db, b.ID, 3, "13800000001")
	parent := modelstest.Parent(t, db, kid.ID)
	stranger := modelstest.Parent(t, db)
	for _, tc := range []struct {
		name         string
		user, school int64
		want         bool
	}{
		{"childInSchool", parent.ID, b.ID, true},
		{"childElsewhere", parent.ID, a.ID, false},
		{"noChild", stranger.ID, b.ID, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := models.ParentHasChildInSchool(ctx, db, tc.user, tc.school)
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestGenerationMovesAfterEachWrite: a cache keyed on Generation must see
// every write transaction, committed or rolled back, and no read.
func TestGenerationMovesAfterEachWrite(t *testing.T) {
	ctx := context.Background()
	db := modelstest.MustOpenDB(t)
	g0 := db.Generation()
	var n int64
	if err := db.Read(ctx).Raw("SELECT count(*) FROM regions").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if db.Generation() != g0 {
		t.Fatal("a read moved the generation")
	}
	r := modelstest.Region(t, db, nil)
	g1 := db.Generation()
	if g1 == g0 {
		t.Fatal("a committed write did not move the generation")
	}
	_, err := models.CreateRegion(ctx, db, models.SystemActor, models.NewRegion{Name: "重复", Code: r.Code})
	if err == nil {
		t.Fatal("duplicate code accepted")
	}
	if db.Generation() == g1 {
		t.Fatal("a rolled-back write did not move the generation")
	}
}

// TestOpenAnalyzesSQLite: opening a SQLite database that holds data leaves
// planner statistics (sqlite_stat1) for its tables, so plans do not depend
// on whether anyone ever ran ANALYZE.
func TestOpenAnalyzesSQLite(t *testing.T) {
	if modelstest.Engine() != "sqlite" {
		t.Skip("SQLite only: PostgreSQL's autovacuum analyzes")
	}
	url := modelstest.URL(t)
	db := modelstest.Open(t, url)
	r := modelstest.Region(t, db, nil)
	s := modelstest.School(t, db, r.ID)
	for i := 0; i < 50; i++ {
		modelstest.Student(t, db, s.ID, 1+i%6, "")
	}
	again, err := models.Open(url, models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	var n int64
	if err := again.R.Raw("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'students'").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no planner statistics for students after Open")
	}
}

// TestComputeStatsRefreshesPlannerStatistics: after the stats job wrote a
// date's snapshot on SQLite, the snapshot table has planner statistics, so
// the dashboards' reads are not planned for an empty table.
func TestComputeStatsRefreshesPlannerStatistics(t *testing.T) {
	if modelstest.Engine() != "sqlite" {
		t.Skip("SQLite only: PostgreSQL's autovacuum analyzes")
	}
	ctx := context.Background()
	db := modelstest.MustOpenDB(t)
	r := modelstest.Region(t, db, nil)
	for i := 0; i < 40; i++ {
		s := modelstest.School(t, db, r.ID)
		modelstest.Student(t, db, s.ID, 1+i%6, "")
	}
	if _, err := models.ComputeStats(ctx, db, "2026-09-10", time.Now()); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := db.R.Raw("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'stat_snapshots'").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no planner statistics for stat_snapshots after the stats job")
	}
}
