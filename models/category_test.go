package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

func TestParseCategory(t *testing.T) {
	for in, want := range map[string]string{"sports": "sports", " Sports ": "sports", "体育": "sports",
		"作业辅导": "homework", "其他": "other", "thinking": "thinking"} {
		if got, ok := models.ParseCategory(in); !ok || got != want {
			t.Errorf("ParseCategory(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "篮球", "sport", "体育类"} {
		if got, ok := models.ParseCategory(in); ok {
			t.Errorf("ParseCategory(%q) = %q, want not ok", in, got)
		}
	}
	if models.CategoryLabel("music") != "音乐" || models.CategoryLabel("x") != "" {
		t.Error("CategoryLabel")
	}
}

// TestOfferingCategory: create and patch take a code or its label and store
// the code; anything else is a 422 on category; no category defaults by kind.
func TestOfferingCategory(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	ctx := context.Background()
	region := modelstest.Region(t, db, nil)
	s := modelstest.School(t, db, region.ID)
	admin := modelstest.Staff(t, db, models.RoleSchoolAdmin, s.ID, 0).Actor()
	mc := 2
	term, err := models.CreateTerm(ctx, db, admin, s.ID, models.NewTerm{Name: "秋季", StartsOn: "2026-09-01", EndsOn: "2027-01-20", MaxClubs: &mc})
	if err != nil {
		t.Fatal(err)
	}
	opens, closes := time.Date(2026, 9, 1, 0, 0, 0, 0, models.Zone), time.Date(2026, 9, 5, 0, 0, 0, 0, models.Zone)
	create := func(kind, category string) (models.Offering, error) {
		return models.CreateOffering(ctx, db, admin, s.ID, models.NewOffering{TermID: term.ID, Kind: kind, Name: "社团",
			Category: category, Weekdays: []int{2}, StartTime: "16:00", EndTime: "17:00", Capacity: 10, Grades: []int{3},
			EnrollOpensAt: &opens, EnrollClosesAt: &closes})
	}
	invalid := func(t *testing.T, err error) {
		t.Helper()
		var ve *models.ValidationError
		if !errors.As(err, &ve) || ve.Fields["category"] == "" {
			t.Fatalf("want a 422 on category, got %v", err)
		}
	}
	t.Run("code", func(t *testing.T) {
		o, err := create("club", "sports")
		if err != nil || o.Category != "sports" {
			t.Fatalf("%v %q", err, o.Category)
		}
	})
	t.Run("label", func(t *testing.T) {
		o, err := create("club", "体育")
		if err != nil || o.Category != "sports" {
			t.Fatalf("%v %q", err, o.Category)
		}
	})
	t.Run("defaultByKind", func(t *testing.T) {
		b, err1 := create("basic", "")
		c, err2 := create("club", "")
		if err1 != nil || err2 != nil || b.Category != "homework" || c.Category != "other" {
			t.Fatalf("%v %v basic %q club %q", err1, err2, b.Category, c.Category)
		}
	})
	t.Run("unknown422", func(t *testing.T) {
		_, err := create("club", "篮球")
		invalid(t, err)
	})
	t.Run("patch", func(t *testing.T) {
		o, _ := create("club", "sports")
		bad := "球类"
		_, err := models.PatchOffering(ctx, db, admin, o.ID, models.UpdateOffering{Category: &bad})
		invalid(t, err)
		label := "音乐"
		p, err := models.PatchOffering(ctx, db, admin, o.ID, models.UpdateOffering{Category: &label})
		if err != nil || p.Category != "music" {
			t.Fatalf("%v %q", err, p.Category)
		}
	})
}

// TestCategoryMigration puts free-text categories (as typed before the
// fixed list) into offerings and snapshots and runs migration 0040 again:
// each becomes its code, and a date's "体育" and "sports" rows become one.
func TestCategoryMigration(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	f := fx{t, db}
	ctx := context.Background()
	region := modelstest.Region(t, db, nil)
	s := modelstest.School(t, db, region.ID)
	term := f.term(s.ID, "2026-09-01", "2027-01-20")
	want := map[int64]string{}
	for _, c := range []struct{ kind, name, category, want string }{
		{"club", "篮球社", "体育", "sports"},
		{"club", "足球社", "篮球足球", "sports"},
		{"club", "国画", "美术", "arts"},
		{"club", "古筝", "Music", "music"},
		{"club", "小实验", "科学实验", "science"},
		{"club", "剪纸社", "剪纸", "handcraft"},
		{"club", "围棋社", "棋类", "thinking"},
		{"club", "种菜", "劳动教育", "labor"},
		{"club", "读书会", "阅读", "reading"},
		{"club", "未知", "兴趣小组", "other"},
		{"club", "乒乓球社", "", "sports"},
		{"basic", "课后服务", "", "homework"},
		{"club", "社团", "", "other"},
		{"club", "篮球", "sports", "sports"},
	} {
		o := f.offering(term, c.kind, "", "published", mask(2), hm(16, 0), hm(17, 0), 10)
		f.exec("UPDATE offerings SET category = ?, name = ? WHERE id = ?", c.category, c.name, o.ID)
		want[o.ID] = c.want
	}
	now := time.Now().UTC()
	ins := func(category string, clubs, seats int) {
		f.exec(`INSERT INTO stat_snapshots (scope_type, scope_id, grade, category, snap_date, clubs, seats, computed_at)
			VALUES ('school', ?, 0, ?, '2026-10-15', ?, ?, ?)`, s.ID, category, clubs, seats, now)
	}
	ins("sports", 1, 20)
	ins("体育", 2, 30)
	ins("美术", 1, 10)
	f.exec(`INSERT INTO stat_snapshots (scope_type, scope_id, grade, category, snap_date, students, computed_at)
		VALUES ('school', ?, 0, '', '2026-10-15', 99, ?)`, s.ID, now)

	if err := models.RerunMigration(ctx, db, 40); err != nil {
		t.Fatal(err)
	}
	for id, code := range want {
		var got string
		db.R.Raw("SELECT category FROM offerings WHERE id = ?", id).Scan(&got)
		if got != code {
			var name string
			db.R.Raw("SELECT name FROM offerings WHERE id = ?", id).Scan(&name)
			t.Errorf("offering %d (%s): category %q, want %q", id, name, got, code)
		}
	}
	rows, err := models.FindBreakdown(ctx, db, models.StatScope{Type: models.ScopeSchool, ID: s.ID}, "2026-10-15", models.ByCategory)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int64{}
	for _, r := range rows {
		got[r.Category] = [2]int64{r.Clubs, r.Seats}
	}
	if len(got) != 2 || got["sports"] != [2]int64{3, 50} || got["arts"] != [2]int64{1, 10} {
		t.Fatalf("breakdown after the migration: %v", got)
	}
	total, err := models.FindSnapshot(ctx, db, models.StatScope{Type: models.ScopeSchool, ID: s.ID}, "2026-10-15")
	if err != nil || total.Students != 99 {
		t.Fatalf("the all-categories row: %v %+v", err, total)
	}
}
