package main

import (
	"fmt"
	"strings"
	"testing"

	"kehou/models"
)

// rowErrors is the (row, field) of each error of a 422 invalid_rows answer.
func rowErrors(t *testing.T, r resp) []string {
	t.Helper()
	var out []string
	for _, e := range r.want(t, 422, "invalid_rows").JSON()["errors"].([]any) {
		m := e.(map[string]any)
		out = append(out, fmt.Sprintf("%v:%v", m["row"], m["field"]))
	}
	return out
}

// TestRosterRowNumbersBlankLines: CSV and XLSX number rows by one rule —
// data row 1 is the row under the header and blank rows count — so the
// same sheet saved either way reports its bad rows at the same numbers, as
// a spreadsheet shows them. (encoding/csv skips blank lines, which made
// CSV rows 3 and 5 come out as 2 and 4.)
func TestRosterRowNumbersBlankLines(t *testing.T) {
	f := newRosterFixture(t)
	sheet := [][]string{
		strings.Split(rosterHeader, ","),
		{"B1", "甲", "男", "3", "1班", "甲父", "13800000001", "父亲"},
		{},
		{"B2", "乙", "男", "12", "1班", "乙父", "13800000002", "父亲"},
		{},
		{"B3", "丙", "X", "3", "1班", "丙父", "13800000003", "父亲"},
		{"B4", "丁", "男", "3", "1班", "丁父", "13800000004", "父亲\n（同住）"},
		{"B5", "戊", "男", "3", "1班", "戊父", "138", "父亲"},
	}
	want := "3:grade 5:gender 6:relationship 7:guardian_phone" // row 6 spans two lines of the CSV
	var csv strings.Builder
	for _, rec := range sheet {
		for i, c := range rec {
			if i > 0 {
				csv.WriteString(",")
			}
			if strings.Contains(c, "\n") {
				c = `"` + c + `"`
			}
			csv.WriteString(c)
		}
		csv.WriteString("\r\n")
	}
	t.Run("csv", func(t *testing.T) {
		if got := strings.Join(rowErrors(t, f.csv(t, csv.String())), " "); got != want {
			t.Fatalf("rows %s, want %s", got, want)
		}
	})
	t.Run("csvBlankLinesAboveHeader", func(t *testing.T) {
		if got := strings.Join(rowErrors(t, f.csv(t, "\n\n"+csv.String())), " "); got != want {
			t.Fatalf("rows %s, want %s", got, want)
		}
	})
	t.Run("xlsx", func(t *testing.T) {
		var rows [][]any
		for _, rec := range sheet {
			var r []any
			for _, c := range rec {
				r = append(r, c)
			}
			rows = append(rows, r)
		}
		body, ctype := multipartFile(t, "file", "名单.xlsx", xlsxFile(t, rows))
		if got := strings.Join(rowErrors(t, f.s.do("POST", f.url, f.token, body, "Content-Type", ctype)), " "); got != want {
			t.Fatalf("rows %s, want %s", got, want)
		}
	})
}

// TestRosterCSVRowTooWide: a CSV row of more cells than a row may hold is
// refused as an XLSX row is, not walked.
func TestRosterCSVRowTooWide(t *testing.T) {
	f := newRosterFixture(t)
	row := "W1,甲,男,3,1班,甲父,13800000001,父亲" + strings.Repeat(",", models.MaxRosterCellsPerRow)
	f.csv(t, rosterHeader+"\n"+row+"\n").want(t, 422, "row_too_wide")
}

// TestRosterErrorsLocateCells: each row error says where it is in the file
// — the line a spreadsheet shows (title rows and the header counted), the
// header's cell of the column as written, the cell's reference — in CSV
// and XLSX alike, so a page can mark the cell without reading the file.
func TestRosterErrorsLocateCells(t *testing.T) {
	f := newRosterFixture(t)
	sheet := [][]string{
		{"实验小学2026级名单"},
		{},
		{"学号", "姓  名", "性别", "年级", "班级", "家长姓名", "家长联系电话"},
		{"L1", "甲", "男", "3", "1班", "甲父", "13800000001"},
		{"L2", "乙", "男", "3", "1班", "乙父", "138"},
		{},
		{"L3", "丙", "X", "3", "1班", "丙父", "13800000003"},
	}
	want := "2:guardian_phone:5:家长联系电话:G5 4:gender:7:性别:C7"
	locate := func(t *testing.T, r resp) string {
		t.Helper()
		var out []string
		for _, e := range r.want(t, 422, "invalid_rows").JSON()["errors"].([]any) {
			m := e.(map[string]any)
			out = append(out, fmt.Sprintf("%v:%v:%v:%v:%v", m["row"], m["field"], m["line"], m["column"], m["cell"]))
			if !strings.HasPrefix(m["message"].(string), fmt.Sprintf("第%v行", m["line"])) {
				t.Errorf("message %q does not name line %v", m["message"], m["line"])
			}
		}
		return strings.Join(out, " ")
	}
	t.Run("csv", func(t *testing.T) {
		var b strings.Builder
		for _, rec := range sheet {
			b.WriteString(strings.Join(rec, ",") + "\n")
		}
		if got := locate(t, f.csv(t, b.String())); got != want {
			t.Fatalf("errors %s, want %s", got, want)
		}
	})
	t.Run("xlsx", func(t *testing.T) {
		var rows [][]any
		for _, rec := range sheet {
			var r []any
			for _, c := range rec {
				r = append(r, c)
			}
			rows = append(rows, r)
		}
		body, ctype := multipartFile(t, "file", "名单.xlsx", xlsxFile(t, rows))
		if got := locate(t, f.s.do("POST", f.url, f.token, body, "Content-Type", ctype)); got != want {
			t.Fatalf("errors %s, want %s", got, want)
		}
	})
}
