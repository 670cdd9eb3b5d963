package models_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
	"kehou/models/modelstest/province"
)

// TestComputeStatsGenerated cross-checks the stats job on a small generated
// province against plain counting queries (province.Count) written apart
// from the job.
func TestComputeStatsGenerated(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	ctx := context.Background()
	day := cst(statsDay + " 00:00")
	if _, err := province.Generate(ctx, db, province.Shape{Cities: 2, CountiesPerCity: 2, SchoolsPerCounty: 50, StudentsPerSchool: 12}, day); err != nil {
		t.Fatal(err)
	}
	if _, err := models.ComputeStats(ctx, db, statsDay, time.Now()); err != nil {
		t.Fatal(err)
	}
	got := snap(t, db, models.ScopeRegion, 1)
	want, err := province.Count(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]int64{
		"schools":           {got.Schools, want.Schools},
		"students":          {got.Students, want.Students},
		"participants":      {got.Participants, want.Participants},
		"schools_offering":  {got.SchoolsOffering, want.SchoolsOffering},
		"schools_5plus2":    {got.Schools5Plus2, want.Schools5Plus2},
		"clubs":             {got.Clubs, want.Clubs},
		"seats_filled":      {got.SeatsFilled, want.SeatsFilled},
		"waitlisted":        {got.Waitlisted, want.Waitlisted},
		"responses":         {got.Responses, want.Responses},
		"attendance_marked": {got.AttendanceMarked, want.AttendanceMarked},
	}
	for name, c := range checks {
		if c[0] != c[1] || c[1] == 0 {
			t.Errorf("%s = %d, counted %d", name, c[0], c[1])
		}
	}
}

// BenchmarkComputeStatsProvince measures the stats job on province.Full
// (3,000 schools, 1,000,000 students, 3,000,000 enrollments). Generating the
// data takes a minute or two and is not timed:
//
//	go test -run '^$' -bench ComputeStatsProvince -benchtime 1x ./models/
func BenchmarkComputeStatsProvince(b *testing.B) {
	db := modelstest.MustOpenDB(b)
	start := time.Now()
	if _, err := province.Generate(context.Background(), db, province.Full, cst(statsDay+" 00:00")); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: generated %d schools, %d students in %s", modelstest.Engine(), province.Full.Schools(),
		province.Full.Students(), time.Since(start).Round(time.Second))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0, c0 := time.Now(), cpuTime()
		rows, err := models.ComputeStats(context.Background(), db, statsDay, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("stats job: %d snapshot rows in %s (this process's CPU: %s)", rows,
			time.Since(t0).Round(time.Millisecond), (cpuTime() - c0).Round(time.Millisecond))
	}
}

// cpuTime is this process's CPU time (SQLite runs in-process; PostgreSQL's
// work is in the server and not counted).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
