package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"kehou/models"
)

// dispositionName is the UTF-8 filename* of a Content-Disposition header.
func dispositionName(t *testing.T, h string) string {
	t.Helper()
	_, enc, ok := strings.Cut(h, "filename*=UTF-8''")
	if !ok || !strings.Contains(h, `filename="`) {
		t.Fatalf("Content-Disposition %q lacks filename and filename*", h)
	}
	name, err := url.PathUnescape(enc)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// TestExportsNamedAndFormatted: an offering roster and the schools'
// statistics are exported as files named for what they hold (with an RFC
// 5987 filename*), XLSX columns have widths, rates are percentages and
// yes/no columns 是/否.
func TestExportsNamedAndFormatted(t *testing.T) {
	t.Run("offeringRoster", func(t *testing.T) {
		w := newEnrollWorld(t)
		oid := w.publishedOffering(t, func(m map[string]any) { m["name"] = "篮球社" })
		w.do("POST", "/api/v1/enrollments", w.adminTok, map[string]any{"student_id": w.student.ID, "offering_id": oid}).want(t, 201)
		date := time.Now().In(models.Zone).Format(time.DateOnly)
		for _, format := range []string{"csv", "xlsx"} {
			r := w.do("GET", fmt.Sprintf("/api/v1/offerings/%d/roster?format=%s", oid, format), w.adminTok, nil).want(t, 200)
			if got, want := dispositionName(t, r.Header.Get("Content-Disposition")), "篮球社-名单-"+date+"."+format; got != want {
				t.Fatalf("file name %q, want %q", got, want)
			}
		}
		r := w.do("GET", fmt.Sprintf("/api/v1/offerings/%d/roster?format=xlsx", oid), w.adminTok, nil).want(t, 200)
		f, err := excelize.OpenReader(bytes.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sheet := f.GetSheetName(0)
		// 家长电话: a masked phone (11 characters) and some room.
		if wd, _ := f.GetColWidth(sheet, "F"); wd < 13 {
			t.Fatalf("phone column %v wide", wd)
		}
		if v, _ := f.GetCellValue(sheet, "C2"); v != "3" {
			t.Fatalf("grade cell %q", v)
		}
	})
	t.Run("statsSchools", func(t *testing.T) {
		w, _, today := dashboardWorld(t)
		s := w.s
		tok := s.token(w.bureauCity)
		r := s.do("GET", "/api/v1/stats/schools?format=csv", tok, nil).want(t, 200)
		if got, want := dispositionName(t, r.Header.Get("Content-Disposition")), w.city.Name+"-各校统计-"+today+".csv"; got != want {
			t.Fatalf("file name %q, want %q", got, want)
		}
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\ufeff")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		col := func(h string) int {
			for i, x := range recs[0] {
				if x == h {
					return i
				}
			}
			t.Fatalf("no column %s", h)
			return 0
		}
		rate, offering := recs[1][col("参与率")], recs[1][col("提供课后服务")]
		if !strings.HasSuffix(rate, "%") || (offering != "是" && offering != "否") {
			t.Fatalf("csv rate %q, yes/no %q", rate, offering)
		}
		r = s.do("GET", "/api/v1/stats/schools?format=xlsx", tok, nil).want(t, 200)
		f, err := excelize.OpenReader(bytes.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sheet := f.GetSheetName(0)
		rateCell, _ := excelize.CoordinatesToCellName(col("参与率")+1, 2)
		yesCell, _ := excelize.CoordinatesToCellName(col("提供课后服务")+1, 2)
		shown, _ := f.GetCellValue(sheet, rateCell)
		raw, _ := f.GetCellValue(sheet, rateCell, excelize.Options{RawCellValue: true})
		yes, _ := f.GetCellValue(sheet, yesCell)
		if !strings.HasSuffix(shown, "%") || strings.HasSuffix(raw, "%") || (yes != "是" && yes != "否") {
			t.Fatalf("xlsx rate shown %q raw %q, yes/no %q", shown, raw, yes)
		}
		checkXLSXDimension(t, f)
		wide, _ := excelize.ColumnNumberToName(col("基础托管参与数") + 1)
		if wd, _ := f.GetColWidth(sheet, wide); wd < 14 { // 7 wide characters
			t.Fatalf("column %s %v wide", wide, wd)
		}
	})
}

// checkXLSXDimension: the sheet's dimension tag names its whole used range
// (readers such as openpyxl's read-only mode trust it).
func checkXLSXDimension(t *testing.T, f *excelize.File) {
	t.Helper()
	sheet := f.GetSheetName(0)
	rows, err := f.GetRows(sheet)
	if err != nil || len(rows) < 2 {
		t.Fatalf("rows %d, %v", len(rows), err)
	}
	width := 0
	for _, r := range rows {
		width = max(width, len(r))
	}
	last, _ := excelize.CoordinatesToCellName(width, len(rows))
	if dim, err := f.GetSheetDimension(sheet); err != nil || dim != "A1:"+last {
		t.Fatalf("dimension %q, %v; want A1:%s", dim, err, last)
	}
}
