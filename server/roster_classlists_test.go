package main

import (
	"fmt"
	"strings"
	"testing"

	"kehou/models/modelstest"
)

// TestRosterRealClassLists imports class lists as schools keep them: names
// padded with full-width spaces, one class written (2)班, （２）班, 02班 and
// 2班, headers 姓  名 and 家长联系电话, both parents on one row (父亲电话,
// 母亲电话). Names are stored as written and matched as read — the parent
// who types 王芳 binds 王　芳 — and each class is one class.
func TestRosterRealClassLists(t *testing.T) {
	f := newRosterFixture(t)
	t.Run("paddedNamesAndClassSpellings200", func(t *testing.T) {
		body := "学号,姓  名,性 别,年级,班　级,家长姓名,家长联系电话\n" +
			"R1,王　芳,女,3,(2)班,王强,13800000011\n" +
			"R2,李　雷,男,3,2班,李父,13800000012\n" +
			"R3,欧阳娜娜,女,3,（２）班,欧阳父,13800000013\n" +
			"R4, 张　伟　,男,3,02班,张父,13800000014\n" +
			"R1,王芳,女,3,2班,王母,13800000015\n" // the same student, typed another way
		wantResult(t, f.csv(t, body), 4, 0)
		var classes []string
		f.s.db.R.Raw("SELECT name FROM classes WHERE school_id = ?", f.school.ID).Scan(&classes)
		if len(classes) != 1 || classes[0] != "(2)班" {
			t.Fatalf("classes %v, want one, (2)班", classes)
		}
		var got []string
		f.s.db.R.Raw(`SELECT s.name || ':' || s.class_name || ':' || CAST(s.class_id AS TEXT) FROM students s
			WHERE s.school_id = ? ORDER BY s.student_no`, f.school.ID).Scan(&got)
		var id int64
		f.s.db.R.Raw("SELECT id FROM classes WHERE school_id = ?", f.school.ID).Scan(&id)
		want := fmt.Sprintf("王　芳:(2)班:%[1]d 李　雷:(2)班:%[1]d 欧阳娜娜:(2)班:%[1]d 张　伟:(2)班:%[1]d", id)
		if strings.Join(got, " ") != want {
			t.Fatalf("students %v, want %s", got, want)
		}
		if c := f.counts(t); c[1] != 5 {
			t.Fatalf("guardians %d, want 5", c[1])
		}
	})
	t.Run("otherSpellingLaterUpdatesNothing", func(t *testing.T) {
		body := rosterHeader + "\nR2,李　雷,男,3,2 班,李父,13800000012,\n"
		wantResult(t, f.csv(t, body), 0, 0)
		if c := f.counts(t); c[2] != 1 {
			t.Fatalf("classes %d, want 1", c[2])
		}
	})
	t.Run("parentTypesNameWithoutSpaces201", func(t *testing.T) {
		var st struct{ ID int64 }
		f.s.db.R.Raw("SELECT id FROM students WHERE student_no = 'R1' AND school_id = ?", f.school.ID).Scan(&st)
		code := f.s.do("POST", fmt.Sprintf("/api/v1/students/%d/binding-codes", st.ID), f.token, nil).want(t, 201).JSON()["code"]
		p := modelstest.Parent(t, f.s.db)
		f.s.do("POST", "/api/v1/me/children", f.s.token(p), map[string]any{"school_id": f.school.ID, "student_no": "R1",
			"name": "王芳", "binding_code": code}).want(t, 201)
	})
	t.Run("twoParentsOnOneRow200", func(t *testing.T) {
		body := "序号,学号,姓名,性别,年级,班级,父亲姓名,父亲电话,母亲姓名,母亲电话\n" +
			"1,P1,赵一,男,4,1班,赵父,13800000021,钱母,13800000022\n" +
			"2,P2,赵二,女,4,1班,,,孙母,13800000023\n" + // the mother only
			"3,P3,赵三,男,4,1班,,13800000024,,13800000024\n" + // one phone for both: one guardian
			"4,P4,赵四,男,4,1班,,13800000025,,\n" // the father's phone without his name
		wantResult(t, f.csv(t, body), 4, 0)
		var got []string
		f.s.db.R.Raw(`SELECT s.student_no || ':' || g.name || ':' || g.relationship || ':' || g.phone FROM guardians g
			JOIN students s ON s.id = g.student_id WHERE s.student_no LIKE 'P%' ORDER BY s.student_no, g.phone`).Scan(&got)
		want := "P1:赵父:父亲:13800000021 P1:钱母:母亲:13800000022 P2:孙母:母亲:13800000023 P3:父亲:父亲:13800000024 P4:父亲:父亲:13800000025"
		if strings.Join(got, " ") != want {
			t.Fatalf("guardians %v, want %s", got, want)
		}
	})
	t.Run("twoParentsErrorsNameTheirColumn422", func(t *testing.T) {
		body := "学号,姓名,性别,年级,班级,父亲电话,母亲电话\n" +
			"Q1,钱一,X,4,1班,13800000031,138\n" + // a bad gender once, the mother's phone
			"Q2,钱二,男,4,1班,,\n" // no parent
		if got := strings.Join(rowErrors(t, f.csv(t, body)), " "); got != "1:gender 1:mother_phone 2:father_phone" {
			t.Fatalf("errors %s", got)
		}
	})
}
