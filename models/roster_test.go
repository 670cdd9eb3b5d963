package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

func row(no, name, gender, grade, class, gname, phone, rel string) models.RosterRow {
	return models.RosterRow{StudentNo: no, Name: name, Gender: gender, Grade: grade, Class: class,
		GuardianName: gname, GuardianPhone: phone, Relationship: rel}
}

func goodRow() models.RosterRow {
	return row("S001", "张小明", "男", "3", "2班", "张伟", "13912345678", "父亲")
}

func TestValidateRosterRowRules(t *testing.T) {
	mod := func(f func(r *models.RosterRow)) models.RosterRow { r := goodRow(); f(&r); return r }
	cases := []struct {
		name  string
		row   models.RosterRow
		field string // "" = valid
	}{
		{"valid", goodRow(), ""},
		{"genderM", mod(func(r *models.RosterRow) { r.Gender = "m" }), ""},
		{"genderF", mod(func(r *models.RosterRow) { r.Gender = "F" }), ""},
		{"phoneWithSeparators", mod(func(r *models.RosterRow) { r.GuardianPhone = "+86 139-1234-5678" }), ""},
		{"relationshipOptional", mod(func(r *models.RosterRow) { r.Relationship = "" }), ""},
		{"grade9", mod(func(r *models.RosterRow) { r.Grade = "9" }), ""},
		{"missingStudentNo", mod(func(r *models.RosterRow) { r.StudentNo = "" }), "student_no"},
		{"studentNoWithSpace", mod(func(r *models.RosterRow) { r.StudentNo = "S 1" }), "student_no"},
		{"studentNoTooLong", mod(func(r *models.RosterRow) { r.StudentNo = fmt.Sprintf("%033d", 1) }), "student_no"},
		{"missingName", mod(func(r *models.RosterRow) { r.Name = "" }), "name"},
		{"nameTooLong", mod(func(r *models.RosterRow) { r.Name = strings.Repeat("名", 51) }), "name"},
		{"badGender", mod(func(r *models.RosterRow) { r.Gender = "X" }), "gender"},
		{"grade0", mod(func(r *models.RosterRow) { r.Grade = "0" }), "grade"},
		{"grade10", mod(func(r *models.RosterRow) { r.Grade = "10" }), "grade"},
		{"gradeText", mod(func(r *models.RosterRow) { r.Grade = "高一" }), "grade"},
		{"gradeFraction", mod(func(r *models.RosterRow) { r.Grade = "3.5" }), "grade"},
		{"gradeWord", mod(func(r *models.RosterRow) { r.Grade = "三年级" }), ""},
		{"gradeDigitsWord", mod(func(r *models.RosterRow) { r.Grade = "3年级" }), ""},
		{"gradeFloat", mod(func(r *models.RosterRow) { r.Grade = "3.0" }), ""},
		{"gradeJunior", mod(func(r *models.RosterRow) { r.Grade = "初一" }), ""},
		{"gradeFullWidth", mod(func(r *models.RosterRow) { r.Grade = "３" }), ""},
		{"phone0086", mod(func(r *models.RosterRow) { r.GuardianPhone = "0086 139 1234 5678" }), ""},
		{"phoneFullWidth", mod(func(r *models.RosterRow) { r.GuardianPhone = "１３９１２３４５６７８" }), ""},
		{"missingClass", mod(func(r *models.RosterRow) { r.Class = "" }), "class"},
		{"missingGuardianName", mod(func(r *models.RosterRow) { r.GuardianName = "" }), "guardian_name"},
		{"landline", mod(func(r *models.RosterRow) { r.GuardianPhone = "02188889999" }), "guardian_phone"},
		{"shortPhone", mod(func(r *models.RosterRow) { r.GuardianPhone = "1391234567" }), "guardian_phone"},
		{"missingPhone", mod(func(r *models.RosterRow) { r.GuardianPhone = "" }), "guardian_phone"},
		{"relationshipTooLong", mod(func(r *models.RosterRow) {
			r.Relationship = "一二三四五六七八九十一二三四五六七八九十一"
		}), "relationship"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := models.ValidateRoster([]models.RosterRow{c.row})
			if c.field == "" {
				if err != nil || len(out) != 1 {
					t.Fatalf("ValidateRoster = %v, %v; want one student", out, err)
				}
				return
			}
			var ie *models.ImportError
			if !errors.As(err, &ie) || len(ie.Errors) != 1 || ie.Errors[0].Row != 1 || ie.Errors[0].Field != c.field {
				t.Fatalf("ValidateRoster err = %#v; want one error on row 1 field %s", err, c.field)
			}
		})
	}
}

func TestValidateRosterNormalises(t *testing.T) {
	out, err := models.ValidateRoster([]models.RosterRow{
		row("S1", "王芳", "F", "1", "1班", "王强", "+86 138 0000 1111", "父亲"),
		{}, // a blank row is skipped
		row("S1", "王芳", "女", "1", "1班", "李娜", "13900002222", "母亲"),
		row("S1", "王芳", "女", "1", "1班", "李娜", "13900002222", "母亲"), // exact repeat
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Gender != "女" || len(out[0].Guardians) != 2 || out[0].Guardians[0].Phone != "13800001111" {
		t.Fatalf("ValidateRoster = %+v", out)
	}
}

func TestValidateRosterCrossRowErrors(t *testing.T) {
	cases := []struct {
		name  string
		rows  []models.RosterRow
		row   int
		field string
	}{
		{"conflictingGrade", []models.RosterRow{goodRow(), row("S001", "张小明", "男", "4", "2班", "李娜", "13900002222", "母亲")}, 2, "student_no"},
		{"conflictingName", []models.RosterRow{goodRow(), row("S001", "张大明", "男", "3", "2班", "李娜", "13900002222", "母亲")}, 2, "student_no"},
		{"samePhoneOtherGuardian", []models.RosterRow{goodRow(), row("S001", "张小明", "男", "3", "2班", "李娜", "13912345678", "母亲")}, 2, "guardian_phone"},
		{"tooManyGuardians", func() []models.RosterRow {
			var rows []models.RosterRow
			for i := range models.MaxGuardians + 1 {
				rows = append(rows, row("S001", "张小明", "男", "3", "2班", "家长", fmt.Sprintf("1390000000%d", i), "亲属"))
			}
			return rows
		}(), models.MaxGuardians + 1, "guardian_phone"},
		{"blankRowsCounted", []models.RosterRow{goodRow(), {}, row("S002", "", "男", "3", "2班", "李娜", "13900002222", "母亲")}, 3, "name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := models.ValidateRoster(c.rows)
			var ie *models.ImportError
			if !errors.As(err, &ie) || len(ie.Errors) != 1 || ie.Errors[0].Row != c.row || ie.Errors[0].Field != c.field {
				t.Fatalf("err = %#v; want row %d field %s", err, c.row, c.field)
			}
		})
	}
	t.Run("ErrRosterEmpty", func(t *testing.T) {
		if _, err := models.ValidateRoster([]models.RosterRow{{}, {}}); !errors.Is(err, models.ErrRosterEmpty) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrRosterTooLong", func(t *testing.T) {
		rows := make([]models.RosterRow, models.MaxRosterRows+1)
		if _, err := models.ValidateRoster(rows); !errors.Is(err, models.ErrRosterTooLong) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestParseGrade(t *testing.T) {
	for in, want := range map[string]int{"3": 3, "３": 3, "3.0": 3, "3年级": 3, "三年级": 3, "小学六年级": 6, "初一": 7,
		"初二": 8, "初三": 9, "七年级": 7, "九": 9, " 5 ": 5, "0": 0, "10": 0, "高一": 0, "": 0, "3.5": 0, "十年级": 0} {
		got, ok := models.ParseGrade(in)
		if got != want || ok != (want != 0) {
			t.Errorf("ParseGrade(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
}

// TestValidateRosterErrorsNameRow: a row error repeats the student number
// and the value found (a phone masked).
func TestValidateRosterErrorsNameRow(t *testing.T) {
	r := goodRow()
	r.StudentNo, r.Grade = "S077", "十二"
	p := goodRow()
	p.StudentNo, p.GuardianPhone = "S078", "1391234567"
	_, err := models.ValidateRoster([]models.RosterRow{r, p})
	var ie *models.ImportError
	if !errors.As(err, &ie) || len(ie.Errors) != 2 {
		t.Fatalf("err = %v", err)
	}
	g, ph := ie.Errors[0], ie.Errors[1]
	if g.StudentNo != "S077" || g.Value != "十二" || !strings.Contains(g.Message, "S077") || !strings.Contains(g.Message, "十二") {
		t.Fatalf("grade error = %+v", g)
	}
	if ph.StudentNo != "S078" || strings.Contains(ph.Message, "1391234567") || ph.Value != "********67" {
		t.Fatalf("phone error = %+v", ph)
	}
}

func TestRosterFromRecordsHeader(t *testing.T) {
	header := []string{"\uFEFF student_no ", "Name", "gender", "grade", "class", "guardian_name", "guardian_phone", "relationship", "note"}
	t.Run("bomSpacesCaseExtraColumn", func(t *testing.T) {
		rows, err := models.RosterFromRecords([][]string{header, {" S1 ", "李雷", "男", "2", "1班", "李父", "13900001111", "父亲", "x"}, {"S2"}})
		if err != nil || len(rows) != 2 || rows[0].StudentNo != "S1" || rows[0].Name != "李雷" || rows[1].StudentNo != "S2" || rows[1].Name != "" {
			t.Fatalf("rows = %+v, err = %v", rows, err)
		}
	})
	t.Run("columnOrderByHeader", func(t *testing.T) {
		rows, err := models.RosterFromRecords([][]string{
			{"name", "student_no", "relationship", "guardian_phone", "guardian_name", "class", "grade", "gender"},
			{"韩梅梅", "S9", "母亲", "13900001111", "韩母", "3班", "5", "女"}})
		if err != nil || rows[0] != rowAt(1, "S9", "韩梅梅", "女", "5", "3班", "韩母", "13900001111", "母亲") {
			t.Fatalf("rows = %+v, err = %v", rows, err)
		}
	})
	t.Run("chineseHeaderUnderTitleRows", func(t *testing.T) {
		rows, err := models.RosterFromRecords([][]string{
			{"示范区实验小学2026学年学生名单"},
			{},
			{"学号", "姓名", "性别", "年级", "班级", "监护人姓名", "监护人手机号", "与学生关系"},
			{"S7", "李雷", "男", "2", "1班", "李父", "13900001111", "父亲"}})
		if err != nil || len(rows) != 1 || rows[0] != rowAt(1, "S7", "李雷", "男", "2", "1班", "李父", "13900001111", "父亲") {
			t.Fatalf("rows = %+v, err = %v", rows, err)
		}
	})
	t.Run("missingColumnRow0", func(t *testing.T) {
		_, err := models.RosterFromRecords([][]string{{"student_no", "name"}})
		var ie *models.ImportError
		if !errors.As(err, &ie) || len(ie.Errors) != 5 || ie.Errors[0].Row != 0 {
			t.Fatalf("err = %#v", err)
		}
	})
	t.Run("duplicateColumn", func(t *testing.T) {
		_, err := models.RosterFromRecords([][]string{append(header, "name")})
		var ie *models.ImportError
		if !errors.As(err, &ie) || ie.Errors[0].Field != "name" {
			t.Fatalf("err = %#v", err)
		}
	})
	t.Run("ErrRosterEmpty", func(t *testing.T) {
		if _, err := models.RosterFromRecords(nil); !errors.Is(err, models.ErrRosterEmpty) {
			t.Fatalf("err = %v", err)
		}
	})
}

func count(t *testing.T, db *models.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.R.Raw(q, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportRosterUpsert(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	ctx := context.Background()
	r := modelstest.Region(t, db, nil)
	sc := modelstest.School(t, db, r.ID)
	admin := models.Actor{UserID: 1, Role: models.RoleSchoolAdmin, SchoolID: sc.ID}

	first := []models.RosterRow{
		row("S1", "张三", "男", "1", "1班", "张父", "13900000001", "父亲"),
		row("S1", "张三", "男", "1", "1班", "张母", "13900000002", "母亲"),
		row("S2", "李四", "女", "2", "1班", "李母", "13900000003", "母亲"),
	}
	res, err := models.ImportRoster(ctx, db, admin, sc.ID, first)
	if err != nil || res != (models.RosterResult{Created: 2}) {
		t.Fatalf("first import = %+v, %v", res, err)
	}
	// S1 moves class and loses a guardian; S2 gets a new phone; S3 is new.
	second := []models.RosterRow{
		row("S1", "张三", "男", "1", "2班", "张父", "13900000001", "爸爸"),
		row("S2", "李四", "女", "2", "1班", "李母", "13900000009", "母亲"),
		row("S3", "王五", "M", "2", "1班", "王父", "13900000004", "父亲"),
	}
	res, err = models.ImportRoster(ctx, db, admin, sc.ID, second)
	if err != nil || res != (models.RosterResult{Created: 1, Updated: 2}) {
		t.Fatalf("second import = %+v, %v", res, err)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM students WHERE school_id = ?", sc.ID); n != 3 {
		t.Fatalf("students = %d, want 3", n)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM classes WHERE school_id = ?", sc.ID); n != 3 {
		t.Fatalf("classes = %d, want 3 (1/1班, 1/2班, 2/1班)", n)
	}
	var g []models.Guardian
	db.R.Raw("SELECT g.* FROM guardians g JOIN students s ON s.id = g.student_id WHERE s.school_id = ? ORDER BY g.phone", sc.ID).Scan(&g)
	if len(g) != 3 || g[0].Phone != "13900000001" || g[0].Relationship != "爸爸" || g[1].Phone != "13900000004" || g[2].Phone != "13900000009" {
		t.Fatalf("guardians = %+v", g)
	}
	var st models.Student
	db.R.Where("school_id = ? AND student_no = ?", sc.ID, "S1").First(&st)
	var cl models.Class
	db.R.First(&cl, *st.ClassID)
	if st.ClassName != "2班" || cl.Name != "2班" || cl.Grade != 1 {
		t.Fatalf("S1 = %+v in %+v", st, cl)
	}

	t.Run("badRowWritesNothing", func(t *testing.T) {
		before := count(t, db, "SELECT COUNT(*) FROM guardians")
		_, err := models.ImportRoster(ctx, db, admin, sc.ID, []models.RosterRow{
			row("S4", "赵六", "男", "3", "1班", "赵父", "13900000005", "父亲"),
			row("S5", "钱七", "男", "3", "1班", "钱父", "123", "父亲"),
		})
		var ie *models.ImportError
		if !errors.As(err, &ie) || ie.Errors[0].Row != 2 || ie.Errors[0].Field != "guardian_phone" {
			t.Fatalf("err = %v", err)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM students"); n != 3 {
			t.Fatalf("students = %d after a failed import", n)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM guardians"); n != before {
			t.Fatalf("guardians = %d after a failed import, want %d", n, before)
		}
	})
	t.Run("otherSchoolAdminNotFound", func(t *testing.T) {
		other := models.Actor{UserID: 2, Role: models.RoleSchoolAdmin, SchoolID: sc.ID + 1000}
		if _, err := models.ImportRoster(ctx, db, other, sc.ID, second); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("teacherForbidden", func(t *testing.T) {
		teacher := models.Actor{UserID: 3, Role: models.RoleTeacher, SchoolID: sc.ID}
		if _, err := models.ImportRoster(ctx, db, teacher, sc.ID, second); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("platformAdminMissingSchool", func(t *testing.T) {
		if _, err := models.ImportRoster(ctx, db, models.SystemActor, sc.ID+1000, second); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestImportRosterConcurrent: two imports of one file into one school at
// the same time leave no duplicates, and their counts add up (each student
// is created by exactly one of them, and the others find nothing to
// update).
func TestImportRosterConcurrent(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	ctx := context.Background()
	sc := modelstest.School(t, db, modelstest.Region(t, db, nil).ID)
	// The class exists already, so the imports do not queue on creating it.
	if _, err := models.ImportRoster(ctx, db, models.SystemActor, sc.ID, []models.RosterRow{
		row("C-first", "学生", "女", "3", "1班", "家长", "13800000000", "母亲")}); err != nil {
		t.Fatal(err)
	}
	var rows []models.RosterRow
	for i := range 200 {
		rows = append(rows, row(fmt.Sprintf("C%d", i), "学生", "女", "3", "1班", "家长", fmt.Sprintf("139%08d", i), "母亲"))
	}
	results := make(chan models.RosterResult, 4)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			res, err := models.ImportRoster(ctx, db, models.SystemActor, sc.ID, rows)
			results <- res
			errs <- err
		}()
	}
	var created, updated int
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		r := <-results
		created, updated = created+r.Created, updated+r.Updated
	}
	if created != 200 || updated != 0 {
		t.Fatalf("created %d, updated %d; want 200 and 0 (the same rows change nothing)", created, updated)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM students WHERE school_id = ?", sc.ID); n != 201 {
		t.Fatalf("students = %d", n)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM guardians"); n != 201 {
		t.Fatalf("guardians = %d", n)
	}
}

// rowAt is row with its number in the file set.
func rowAt(n int, no, name, gender, grade, class, gname, phone, rel string) models.RosterRow {
	r := row(no, name, gender, grade, class, gname, phone, rel)
	r.Row = n
	return r
}
