package province_test

import (
	"context"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
	"kehou/models/modelstest/province"
)

// TestGenerateReduced runs the full-size generator at province.Reduced
// (every school of Full's size, a hundredth of the schools) on the day the
// stats benchmark uses: it must load (the seat counters' CHECK failed at
// 334 students a school), leave a state the enrollment rules allow, and be
// what its comment says.
func TestGenerateReduced(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	ctx := context.Background()
	day := time.Date(2026, 10, 15, 0, 0, 0, 0, models.Zone) // the stats benchmark's statsDay
	set, err := province.Generate(ctx, db, province.Reduced, day)
	if err != nil {
		t.Fatal(err)
	}
	modelstest.CheckInvariants(t, db)
	c, err := province.Count(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if int(c.Schools) != province.Reduced.Schools() || set.Enrollments != int64(3*province.Reduced.Students()) {
		t.Fatalf("generated %d schools, %d enrollments; want %d and %d", c.Schools, set.Enrollments,
			province.Reduced.Schools(), 3*province.Reduced.Students())
	}
	var over, full int64
	if err := db.R.Raw(`SELECT count(*) FROM offerings WHERE kind = 'club' AND capacity > 60`).Scan(&over).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.R.Raw(`SELECT count(*) FROM offerings WHERE waitlisted_count > 0 AND enrolled_count <> capacity`).Scan(&full).Error; err != nil {
		t.Fatal(err)
	}
	if over == 0 || full != 0 {
		t.Fatalf("%d clubs grown past 60 seats (want some: the full shape's demand), %d waitlisted clubs not full", over, full)
	}
}
