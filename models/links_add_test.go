package models_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

func TestPlainText(t *testing.T) {
	for s, want := range map[string]bool{
		"张小明": true, "Anna-Maria O'Neil": true, "欧阳 娜娜": true,
		"张\u202E明": false, "张\u200B明": false, "\u2066张\u2069": false, "张\u200D明": false,
		"\uFEFF张": false, "张\u00AD明": false, "张\n明": false, "张\u2028明": false, "\u3164": false,
		"\xff": false, "张\uE000": false,
	} {
		if got := models.PlainText(s); got != want {
			t.Errorf("PlainText(%q) = %v", s, got)
		}
	}
	if models.ValidName("   ", 10) || models.ValidName("", 10) || !models.ValidName("李雷", 2) || models.ValidName("李雷雷", 2) {
		t.Error("ValidName bounds")
	}
}

// TestRosterRejectsInvisibleCharacters: a student or guardian name with a
// bidi override or a zero-width character is a row error.
func TestRosterRejectsInvisibleCharacters(t *testing.T) {
	for _, c := range []struct{ name, field string }{{"name", "name"}, {"guardian", "guardian_name"}} {
		r := goodRow()
		if c.name == "name" {
			r.Name = "张\u202E明小"
		} else {
			r.GuardianName = "张\u200B伟"
		}
		_, err := models.ValidateRoster([]models.RosterRow{r})
		var ie *models.ImportError
		if !errors.As(err, &ie) || len(ie.Errors) != 1 || ie.Errors[0].Field != c.field {
			t.Fatalf("%s: err = %v", c.name, err)
		}
	}
	in := models.ChildBinding{SchoolID: 1, StudentNo: "S1", Name: "张\u200B明", Code: "ABCDEFGH"}
	var ve *models.ValidationError
	if err := in.Validate(); !errors.As(err, &ve) || ve.Fields["name"] == "" {
		t.Fatalf("binding name with U+200B: %v", err)
	}
}

// TestBindingCodeReissueRetiresOld: after a new code is issued, the old one
// no longer binds; the new one does.
func TestBindingCodeReissueRetiresOld(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	ctx := context.Background()
	sc := modelstest.School(t, db, modelstest.Region(t, db, nil).ID)
	st := modelstest.Student(t, db, sc.ID, 3, "")
	admin := models.Actor{UserID: modelstest.Staff(t, db, models.RoleSchoolAdmin, sc.ID, 0).ID, Role: models.RoleSchoolAdmin, SchoolID: sc.ID}
	now := time.Now()
	old, err := models.IssueBindingCode(ctx, db, admin, st.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := models.IssueBindingCode(ctx, db, admin, st.ID, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	p := modelstest.Parent(t, db)
	parent := models.Actor{UserID: p.ID, Role: models.RoleParent}
	bind := func(code string) error {
		_, err := models.BindChild(ctx, db, parent, models.ChildBinding{SchoolID: sc.ID, StudentNo: st.StudentNo, Name: st.Name, Code: code}, now.Add(2*time.Second))
		return err
	}
	if err := bind(old.Code); !errors.Is(err, models.ErrBindingFailed) {
		t.Fatalf("old code: %v, want ErrBindingFailed", err)
	}
	if err := bind(fresh.Code); err != nil {
		t.Fatalf("new code: %v", err)
	}
}

// TestGuardianCapPerSchool: one phone may be the guardian of at most the
// bound's students of one school in a roster, and a parent account may link
// no more of them by binding code.
func TestGuardianCapPerSchool(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	db.MaxChildrenPerGuardian = 3
	ctx := context.Background()
	sc := modelstest.School(t, db, modelstest.Region(t, db, nil).ID)
	rows := func(n int) []models.RosterRow {
		var out []models.RosterRow
		for i := range n {
			out = append(out, row(fmt.Sprintf("K%d", i), "学生", "女", "3", "1班", "家长", "13800000077", "母亲"))
		}
		return out
	}
	t.Run("rosterAtBound", func(t *testing.T) {
		if _, err := models.ImportRoster(ctx, db, models.SystemActor, sc.ID, rows(3)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("rosterPastBound422", func(t *testing.T) {
		_, err := models.ImportRoster(ctx, db, models.SystemActor, sc.ID, rows(4))
		var ie *models.ImportError
		if !errors.As(err, &ie) || len(ie.Errors) != 1 || ie.Errors[0].Field != "guardian_phone" {
			t.Fatalf("err = %v", err)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM students WHERE school_id = ?", sc.ID); n != 3 {
			t.Fatalf("students = %d after a refused import", n)
		}
	})
	t.Run("bindingCodePastBound409", func(t *testing.T) {
		var kids []int64
		for range 4 {
			kids = append(kids, modelstest.Student(t, db, sc.ID, 2, "").ID)
		}
		p := modelstest.Parent(t, db, kids[:3]...)
		admin := models.Actor{UserID: modelstest.Staff(t, db, models.RoleSchoolAdmin, sc.ID, 0).ID, Role: models.RoleSchoolAdmin, SchoolID: sc.ID}
		code, err := models.IssueBindingCode(ctx, db, admin, kids[3], time.Now())
		if err != nil {
			t.Fatal(err)
		}
		st, _ := models.FindStudentByID(ctx, db, kids[3])
		_, err = models.BindChild(ctx, db, models.Actor{UserID: p.ID, Role: models.RoleParent},
			models.ChildBinding{SchoolID: sc.ID, StudentNo: st.StudentNo, Name: st.Name, Code: code.Code}, time.Now())
		if !errors.Is(err, models.ErrTooManyChildren) {
			t.Fatalf("fourth child: %v, want ErrTooManyChildren", err)
		}
	})
}
