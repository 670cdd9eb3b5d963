package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestStatsCountClosedOfferings closes a club (enrollment ends, the service
// goes on): after a stats run school A keeps its participants, clubs and
// seats (SPEC "Statistics": a running offering is published or closed).
func TestStatsCountClosedOfferings(t *testing.T) {
	w := buildStatsWorld(t)
	ctx := context.Background()
	if _, err := models.ComputeStats(ctx, w.db, statsDay, time.Now()); err != nil {
		t.Fatal(err)
	}
	before := snap(t, w.db, models.ScopeSchool, w.a.ID)
	admin := modelstest.Staff(t, w.db, models.RoleSchoolAdmin, w.a.ID, 0)
	if _, err := models.CloseOffering(ctx, w.db, admin.Actor(), w.sportsClub.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := models.ComputeStats(ctx, w.db, statsDay, time.Now()); err != nil {
		t.Fatal(err)
	}
	after := snap(t, w.db, models.ScopeSchool, w.a.ID)
	if after.Participants != before.Participants || after.ClubParticipants != before.ClubParticipants ||
		after.Clubs != before.Clubs || after.Seats != before.Seats || after.SeatsFilled != before.SeatsFilled {
		t.Fatalf("closing a club changed the figures:\nbefore %+v\n after %+v", before, after)
	}
	if after.Participants != 3 || after.Clubs != 3 {
		t.Fatalf("participants %d clubs %d, want 3 and 3", after.Participants, after.Clubs)
	}
}

// TestFivePlusTwoClosedBasic: a closed basic service still runs, so it
// still makes its school 5+2.
func TestFivePlusTwoClosedBasic(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	f := fx{t, db}
	region := modelstest.Region(t, db, nil)
	s := modelstest.School(t, db, region.ID)
	f.offering(f.term(s.ID, "2026-09-01", "2027-01-20"), "basic", "homework", "closed", weekdays5, hm(16, 0), hm(18, 0), 30)
	if _, err := models.ComputeStats(context.Background(), db, statsDay, time.Now()); err != nil {
		t.Fatal(err)
	}
	got := snap(t, db, models.ScopeSchool, s.ID)
	if got.Schools5Plus2 != 1 || got.SchoolsOffering != 1 {
		t.Fatalf("schools_5plus2 %d schools_offering %d, want 1 and 1", got.Schools5Plus2, got.SchoolsOffering)
	}
}

// TestReopenOffering: closed → published; a published offering cannot be
// reopened.
func TestReopenOffering(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	f := fx{t, db}
	ctx := context.Background()
	region := modelstest.Region(t, db, nil)
	s := modelstest.School(t, db, region.ID)
	admin := modelstest.Staff(t, db, models.RoleSchoolAdmin, s.ID, 0)
	o := f.offering(f.term(s.ID, "2026-09-01", "2027-01-20"), "club", "sports", "published", mask(2), hm(16, 0), hm(17, 0), 30)
	t.Run("ErrInvalidStatus", func(t *testing.T) {
		if _, err := models.ReopenOffering(ctx, db, admin.Actor(), o.ID); !errors.Is(err, models.ErrInvalidStatus) {
			t.Fatalf("reopen published: %v", err)
		}
	})
	t.Run("reopened", func(t *testing.T) {
		if _, err := models.CloseOffering(ctx, db, admin.Actor(), o.ID); err != nil {
			t.Fatal(err)
		}
		got, err := models.ReopenOffering(ctx, db, admin.Actor(), o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != models.OfferingPublished {
			t.Fatalf("status %s", got.Status)
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		teacher := modelstest.Staff(t, db, models.RoleTeacher, s.ID, 0)
		if _, err := models.ReopenOffering(ctx, db, teacher.Actor(), o.ID); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("teacher reopen: %v", err)
		}
	})
}
