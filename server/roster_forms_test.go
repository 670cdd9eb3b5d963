package main

import (
	"strings"
	"testing"
)

// TestRosterSecretaryForms: a roster as Chinese spreadsheets hold it
// imports — tab-delimited, full-width digits, grades written 三年级, 3.0,
// 初一, phones with 0086, +86, spaces and dashes, no relationship column —
// and the same file again updates nothing; a header no delimiter splits is
// one clear error, not one per column.
func TestRosterSecretaryForms(t *testing.T) {
	f := newRosterFixture(t)
	tsv := "学号\t姓名\t性别\t年级\t班级\t家长姓名\t家长手机号\n" +
		"Ｔ００１\t林一\t男\t三年级\t２班\t林父\t0086 138-0000-0001\n" +
		"T002\t林二\t女\t3.0\t2班\t林母\t+86 13800000002\n" +
		"T003\t林三\tＭ\t初一\t1班\t林叔\t１３８０００００００３\n"
	t.Run("tabDelimited200", func(t *testing.T) {
		wantResult(t, f.csv(t, tsv), 3, 0)
		var got []string
		f.s.db.R.Raw(`SELECT s.student_no || ':' || s.gender || ':' || CAST(s.grade AS TEXT) || ':' || s.class_name || ':' || g.phone
			FROM students s JOIN guardians g ON g.student_id = s.id ORDER BY s.student_no`).Scan(&got)
		want := "T001:男:3:2班:13800000001 T002:女:3:2班:13800000002 T003:男:7:1班:13800000003"
		if strings.Join(got, " ") != want {
			t.Fatalf("stored %v, want %s", got, want)
		}
	})
	t.Run("identicalAgainUpdatesNothing", func(t *testing.T) { wantResult(t, f.csv(t, tsv), 0, 0) })
	t.Run("oneGuardianChangedUpdatesOne", func(t *testing.T) {
		wantResult(t, f.csv(t, strings.Replace(tsv, "林叔", "林姑", 1)), 0, 1)
	})
	t.Run("unsplittableHeaderOneError", func(t *testing.T) {
		r := f.csv(t, "学号 姓名 性别 年级 班级 家长姓名 家长手机号\nT9 林九 男 3 1班 林父 13800000009\n")
		errs := rowErrors(t, r)
		if len(errs) != 1 || errs[0] != "0:header" || !strings.Contains(string(r.Body), "分隔") {
			t.Fatalf("errors %v: %s", errs, r.Body)
		}
	})
	t.Run("rowErrorRepeatsValueAndStudentNo", func(t *testing.T) {
		r := f.csv(t, rosterHeader+"\nT010,林十,男,高一,1班,林父,13800000010,父亲\n")
		e := r.want(t, 422, "invalid_rows").JSON()["errors"].([]any)[0].(map[string]any)
		if e["student_no"] != "T010" || e["value"] != "高一" || !strings.Contains(e["message"].(string), "T010") ||
			!strings.Contains(e["message"].(string), "高一") {
			t.Fatalf("error %v", e)
		}
	})
}
