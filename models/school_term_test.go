package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

func TestSchoolUnique(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	ctx := context.Background()
	r1 := modelstest.Region(t, db, nil)
	r2 := modelstest.Region(t, db, nil)
	code := "S001"
	create := func(region int64, name string, code *string) error {
		_, err := models.CreateSchool(ctx, db, models.SystemActor, models.NewSchool{Name: name, RegionID: region, Code: code})
		return err
	}
	if err := create(r1.ID, "第一小学", &code); err != nil {
		t.Fatal(err)
	}
	t.Run("ErrSchoolNameTaken", func(t *testing.T) {
		if err := create(r1.ID, " 第一小学 ", nil); !errors.Is(err, models.ErrSchoolNameTaken) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("sameNameOtherRegion", func(t *testing.T) {
		if err := create(r2.ID, "第一小学", nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrCodeTaken", func(t *testing.T) {
		if err := create(r2.ID, "第二小学", &code); !errors.Is(err, models.ErrCodeTaken) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("renameIntoTaken", func(t *testing.T) {
		s, err := models.CreateSchool(ctx, db, models.SystemActor, models.NewSchool{Name: "第三小学", RegionID: r1.ID})
		if err != nil {
			t.Fatal(err)
		}
		name := "第一小学"
		if _, err := models.PatchSchool(ctx, db, models.SystemActor, s.ID, models.UpdateSchool{Name: &name}, time.Now()); !errors.Is(err, models.ErrSchoolNameTaken) {
			t.Fatalf("got %v", err)
		}
		if _, err := models.PatchSchool(ctx, db, models.SystemActor, s.ID, models.UpdateSchool{Code: &code}, time.Now()); !errors.Is(err, models.ErrCodeTaken) {
			t.Fatalf("got %v", err)
		}
		renamed := "第三实验小学"
		got, err := models.PatchSchool(ctx, db, models.SystemActor, s.ID, models.UpdateSchool{Name: &renamed}, time.Now())
		if err != nil || got.Name != renamed {
			t.Fatalf("%v %+v", err, got)
		}
	})
}

// TestClosedSchoolLeavesStats: a bureau admin closes school A; the next
// stats run has no row for A and the county counts only Z; the snapshot
// taken before the closing stays.
func TestClosedSchoolLeavesStats(t *testing.T) {
	w := buildStatsWorld(t)
	ctx := context.Background()
	if _, err := models.ComputeStats(ctx, w.db, statsDay, time.Now()); err != nil {
		t.Fatal(err)
	}
	closed := models.SchoolClosed
	t.Run("ErrForbidden", func(t *testing.T) {
		admin := modelstest.Staff(t, w.db, models.RoleSchoolAdmin, w.a.ID, 0)
		if _, err := models.PatchSchool(ctx, w.db, admin.Actor(), w.a.ID, models.UpdateSchool{Status: &closed}, time.Now()); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("school admin: %v", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		other := modelstest.Staff(t, w.db, models.RoleBureauAdmin, 0, w.k2.ID)
		if _, err := models.PatchSchool(ctx, w.db, other.Actor(), w.a.ID, models.UpdateSchool{Status: &closed}, time.Now()); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("other county's bureau: %v", err)
		}
	})
	bureau := modelstest.Staff(t, w.db, models.RoleBureauAdmin, 0, w.k1.ID)
	s, err := models.PatchSchool(ctx, w.db, bureau.Actor(), w.a.ID, models.UpdateSchool{Status: &closed}, time.Now())
	if err != nil || s.Status != models.SchoolClosed || s.ClosedAt == nil {
		t.Fatalf("%v %+v", err, s)
	}
	next := "2026-10-16"
	if _, err := models.ComputeStats(ctx, w.db, next, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := models.FindSnapshot(ctx, w.db, models.StatScope{Type: models.ScopeSchool, ID: w.a.ID}, next); !errors.Is(err, models.ErrNoSnapshot) {
		t.Fatalf("closed school's snapshot: %v", err)
	}
	county, err := models.FindSnapshot(ctx, w.db, models.StatScope{Type: models.ScopeRegion, ID: w.k1.ID}, next)
	if err != nil {
		t.Fatal(err)
	}
	if county.Schools != 1 || county.Students != 0 || county.Participants != 0 || county.Clubs != 0 {
		t.Fatalf("county after A closed: %+v", county)
	}
	if before := snap(t, w.db, models.ScopeSchool, w.a.ID); before.Participants != 3 {
		t.Fatalf("A's snapshot of %s changed: %+v", statsDay, before)
	}
	active := models.SchoolActive
	s, err = models.PatchSchool(ctx, w.db, bureau.Actor(), w.a.ID, models.UpdateSchool{Status: &active}, time.Now())
	if err != nil || s.Status != models.SchoolActive || s.ClosedAt != nil {
		t.Fatalf("reopen: %v %+v", err, s)
	}
}

// termFixture is a school with an admin and a term starting on starts.
func termFixture(t *testing.T, starts, ends string) (*models.DB, models.Actor, models.School, models.Term) {
	t.Helper()
	db := modelstest.MustOpenDB(t)
	region := modelstest.Region(t, db, nil)
	s := modelstest.School(t, db, region.ID)
	admin := modelstest.Staff(t, db, models.RoleSchoolAdmin, s.ID, 0).Actor()
	mc := 2
	term, err := models.CreateTerm(context.Background(), db, admin, s.ID, models.NewTerm{Name: "秋季", StartsOn: starts, EndsOn: ends, MaxClubs: &mc})
	if err != nil {
		t.Fatal(err)
	}
	return db, admin, s, term
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var ve *models.ValidationError
	if !errors.As(err, &ve) || ve.Fields[field] == "" {
		t.Fatalf("want a 422 on %s, got %v", field, err)
	}
}

func TestTermMaxClubsAtLeastOne(t *testing.T) {
	db, admin, s, _ := termFixture(t, "2026-09-01", "2027-01-20")
	zero := 0
	_, err := models.CreateTerm(context.Background(), db, admin, s.ID, models.NewTerm{Name: "春季", StartsOn: "2027-02-20", EndsOn: "2027-07-10", MaxClubs: &zero})
	wantField(t, err, "max_clubs")
}

func TestPatchTerm(t *testing.T) {
	ctx := context.Background()
	db, admin, s, term := termFixture(t, "2026-09-01", "2027-01-20")
	before := cst("2026-08-20 09:00") // before the term starts
	after := cst("2026-09-02 09:00")
	name, starts, ends, zero := "新名称", "2026-08-31", "2027-01-22", 0
	t.Run("ErrTermStarted", func(t *testing.T) {
		if _, err := models.PatchTerm(ctx, db, admin, s.ID, term.ID, models.UpdateTerm{StartsOn: &starts}, after); !errors.Is(err, models.ErrTermStarted) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("nameAfterStart", func(t *testing.T) {
		got, err := models.PatchTerm(ctx, db, admin, s.ID, term.ID, models.UpdateTerm{Name: &name}, after)
		if err != nil || got.Name != name {
			t.Fatalf("%v %+v", err, got)
		}
	})
	t.Run("maxClubs422", func(t *testing.T) {
		_, err := models.PatchTerm(ctx, db, admin, s.ID, term.ID, models.UpdateTerm{MaxClubs: &zero}, before)
		wantField(t, err, "max_clubs")
	})
	t.Run("datesBeforeStart", func(t *testing.T) {
		got, err := models.PatchTerm(ctx, db, admin, s.ID, term.ID, models.UpdateTerm{StartsOn: &starts, EndsOn: &ends}, before)
		if err != nil || got.StartsOn != starts || got.EndsOn != ends {
			t.Fatalf("%v %+v", err, got)
		}
	})
	t.Run("windowOutsideNewDates", func(t *testing.T) {
		opens, closes := cst("2026-08-25 08:00"), cst("2027-01-22 20:00")
		if _, err := models.CreateOffering(ctx, db, admin, s.ID, models.NewOffering{TermID: term.ID, Kind: "club", Name: "篮球社",
			Category: "sports", Weekdays: []int{2}, StartTime: "16:00", EndTime: "17:00", Capacity: 10, Grades: []int{3},
			EnrollOpensAt: &opens, EnrollClosesAt: &closes}); err != nil {
			t.Fatal(err)
		}
		earlier := "2027-01-15"
		_, err := models.PatchTerm(ctx, db, admin, s.ID, term.ID, models.UpdateTerm{EndsOn: &earlier}, before)
		wantField(t, err, "ends_on")
	})
	t.Run("otherSchool404", func(t *testing.T) {
		other := modelstest.School(t, db, s.RegionID)
		if _, err := models.PatchTerm(ctx, db, admin, other.ID, term.ID, models.UpdateTerm{Name: &name}, before); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestDeleteTerm(t *testing.T) {
	ctx := context.Background()
	db, admin, s, term := termFixture(t, "2026-09-01", "2027-01-20")
	f := fx{t, db}
	mc := 2
	empty, err := models.CreateTerm(ctx, db, admin, s.ID, models.NewTerm{Name: "空", StartsOn: "2027-02-20", EndsOn: "2027-07-10", MaxClubs: &mc})
	if err != nil {
		t.Fatal(err)
	}
	surveyed, err := models.CreateTerm(ctx, db, admin, s.ID, models.NewTerm{Name: "有问卷", StartsOn: "2027-09-01", EndsOn: "2028-01-20", MaxClubs: &mc})
	if err != nil {
		t.Fatal(err)
	}
	f.offering(termRow{ID: term.ID, SchoolID: s.ID}, "club", "sports", "draft", mask(2), hm(16, 0), hm(17, 0), 10)
	sv := f.survey(nil, &s.ID, cst("2026-10-01 08:00"), cst("2026-10-31 20:00"), admin.UserID)
	f.exec("UPDATE surveys SET term_id = ? WHERE id = ?", surveyed.ID, sv.ID)

	if err := models.DeleteTerm(ctx, db, admin, s.ID, term.ID); !errors.Is(err, models.ErrTermHasOfferings) {
		t.Fatalf("term with an offering: %v", err)
	}
	if err := models.DeleteTerm(ctx, db, admin, s.ID, surveyed.ID); !errors.Is(err, models.ErrTermInUse) {
		t.Fatalf("term with a survey: %v", err)
	}
	teacher := modelstest.Staff(t, db, models.RoleTeacher, s.ID, 0).Actor()
	if err := models.DeleteTerm(ctx, db, teacher, s.ID, empty.ID); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("teacher: %v", err)
	}
	if err := models.DeleteTerm(ctx, db, admin, s.ID, empty.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := models.FindTermByID(ctx, db, empty.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("deleted term still found: %v", err)
	}
}

// TestOfferingWindowInTerm: a window may open up to 60 days before the
// term's first day and must close by the end of its last day.
func TestOfferingWindowInTerm(t *testing.T) {
	ctx := context.Background()
	db, admin, s, term := termFixture(t, "2026-09-01", "2027-01-20")
	create := func(opens, closes time.Time) (models.Offering, error) {
		return models.CreateOffering(ctx, db, admin, s.ID, models.NewOffering{TermID: term.ID, Kind: "club", Name: "篮球社",
			Category: "sports", Weekdays: []int{2}, StartTime: "16:00", EndTime: "17:00", Capacity: 10, Grades: []int{3},
			EnrollOpensAt: &opens, EnrollClosesAt: &closes})
	}
	t.Run("opensTooEarly", func(t *testing.T) {
		_, err := create(cst("2026-07-02 23:59"), cst("2026-09-05 20:00"))
		wantField(t, err, "enroll_opens_at")
	})
	t.Run("closesAfterTerm", func(t *testing.T) {
		_, err := create(cst("2026-08-25 08:00"), cst("2027-01-21 00:01"))
		wantField(t, err, "enroll_closes_at")
	})
	t.Run("edges", func(t *testing.T) {
		if _, err := create(cst("2026-07-03 00:00"), cst("2027-01-21 00:00")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("patchOutside", func(t *testing.T) {
		o, err := create(cst("2026-08-25 08:00"), cst("2026-09-05 20:00"))
		if err != nil {
			t.Fatal(err)
		}
		late := cst("2027-03-01 00:00")
		_, err = models.PatchOffering(ctx, db, admin, o.ID, models.UpdateOffering{EnrollClosesAt: &late})
		wantField(t, err, "enroll_closes_at")
	})
}
