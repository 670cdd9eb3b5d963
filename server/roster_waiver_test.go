package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestRosterWaiverColumn: the optional waiver columns over HTTP, in CSV
// and XLSX alike, under English or Chinese headers: the waiver is set and
// audited (GET-able through the audit table), a bad cell answers 422 with
// its row, column and cell, and nothing is written.
func TestRosterWaiverColumn(t *testing.T) {
	f := newRosterFixture(t)
	waiver := func(no string) string {
		var v struct{ FeeWaiver, WaiverReason string }
		f.s.db.R.Raw("SELECT fee_waiver, waiver_reason FROM students WHERE school_id = ? AND student_no = ?", f.school.ID, no).Scan(&v)
		return v.FeeWaiver + ":" + v.WaiverReason
	}
	audits := func() int64 {
		var n int64
		f.s.db.R.Raw("SELECT COUNT(*) FROM waiver_changes WHERE school_id = ? AND source = 'roster' AND changed_by IS NOT NULL", f.school.ID).Scan(&n)
		return n
	}
	t.Run("csvEnglish200", func(t *testing.T) {
		body := rosterHeader + ",fee_waiver,waiver_reason\n" +
			"F1,甲,男,3,1班,甲父,13800000101,父亲,full,dibao\n" +
			"F2,乙,男,3,1班,乙父,13800000102,父亲,,\n"
		wantResult(t, f.csv(t, body), 2, 0)
		if got := waiver("F1") + " " + waiver("F2"); got != "full:dibao none:" || audits() != 1 {
			t.Fatalf("waivers %s, audits %d", got, audits())
		}
	})
	t.Run("xlsxChinese200", func(t *testing.T) {
		file := xlsxFile(t, [][]any{
			{"学号", "姓名", "性别", "年级", "班级", "家长姓名", "家长手机号", "关系", "减免", "减免原因"},
			{"F2", "乙", "男", 3, "1班", "乙父", 13800000102, "父亲", "减半", "建档立卡"},
			{"F1", "甲", "男", 3, "1班", "甲父", 13800000101, "父亲", "", ""},
		})
		body, ctype := multipartFile(t, "file", "名单.xlsx", file)
		wantResult(t, f.s.do("POST", f.url, f.token, body, "Content-Type", ctype), 0, 1)
		if got := waiver("F1") + " " + waiver("F2"); got != "full:dibao half:poverty_registered" || audits() != 2 {
			t.Fatalf("waivers %s, audits %d", got, audits())
		}
	})
	sheet := [][]string{
		{"学号", "姓名", "性别", "年级", "班级", "家长姓名", "家长手机号", "费用减免", "减免原因"},
		{"F3", "丙", "男", "3", "1班", "丙父", "13800000103", "全免", "低保"},
		{"F1", "甲", "男", "3", "1班", "甲父", "13800000101", "七折", ""},
		{"F2", "乙", "男", "3", "1班", "乙父", "13800000102", "全免", ""},
	}
	want := "2:fee_waiver:3:费用减免:H3 3:waiver_reason:4:减免原因:I4"
	located := func(t *testing.T, r resp) string {
		t.Helper()
		var out []string
		for _, e := range r.want(t, 422, "invalid_rows").JSON()["errors"].([]any) {
			m := e.(map[string]any)
			out = append(out, fmt.Sprintf("%v:%v:%v:%v:%v", m["row"], m["field"], m["line"], m["column"], m["cell"]))
		}
		return strings.Join(out, " ")
	}
	t.Run("csvBadCells422", func(t *testing.T) {
		var b strings.Builder
		for _, rec := range sheet {
			b.WriteString(strings.Join(rec, ",") + "\n")
		}
		if got := located(t, f.csv(t, b.String())); got != want {
			t.Fatalf("errors %s, want %s", got, want)
		}
	})
	t.Run("xlsxBadCells422", func(t *testing.T) {
		var rows [][]any
		for _, rec := range sheet {
			var r []any
			for _, c := range rec {
				r = append(r, c)
			}
			rows = append(rows, r)
		}
		body, ctype := multipartFile(t, "file", "名单.xlsx", xlsxFile(t, rows))
		if got := located(t, f.s.do("POST", f.url, f.token, body, "Content-Type", ctype)); got != want {
			t.Fatalf("errors %s, want %s", got, want)
		}
	})
	if c := f.counts(t); c[0] != 2 || waiver("F1") != "full:dibao" || audits() != 2 {
		t.Fatalf("a refused file wrote: students %d, F1 %s, audits %d", c[0], waiver("F1"), audits())
	}
}
