package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"
)

// TestConsoleRosterImportErrors: a class list with a title row and a blank
// row above its header, Chinese headers written with spaces, and two bad
// rows — as CSV and as .xlsx. The import page shows each error at the
// API's own line (as Excel numbers it), marks the refused cell by the
// API's cell reference, and keeps the 问题 column on screen at desktop and
// phone size. (The page placed the errors one row off under a title row,
// marked nothing, and the 问题 column sat off the right edge.)
func TestConsoleRosterImportErrors(t *testing.T) {
	w := newBrowserWorld(t)
	ctx := w.tab(t, "demo_school")
	sheet := [][]string{
		{"示范小学2026学年课后服务名单"},
		{},
		{"序号", "学号", "姓  名", "性别", "年级", "班级", "家长姓名", "家长联系电话", "备注"},
		{"1", "2026UI01", "测试甲", "男", "3", "1班", "测试家长甲", "13900001111", ""},
		{"2", "2026UI02", "测试乙", "女", "十", "1班", "测试家长乙", "13900002222", "转入"},
		{"3", "2026UI03", "测试丙", "男", "4", "(2)班", "测试家长丙", "13900003333", ""},
		{"4", "2026UI04", "测试丁", "女", "5", "1班", "测试家长丁", "12345", ""},
	}
	dir := t.TempDir()
	var csv strings.Builder
	for _, rec := range sheet {
		csv.WriteString(strings.Join(rec, ",") + "\n")
	}
	csvFile := filepath.Join(dir, "名单.csv")
	if err := os.WriteFile(csvFile, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	x := excelize.NewFile()
	for i, rec := range sheet {
		row := make([]any, len(rec))
		for j, c := range rec {
			row[j] = c
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if len(row) > 0 {
			if err := x.SetSheetRow("Sheet1", cell, &row); err != nil {
				t.Fatal(err)
			}
		}
	}
	xlsxPath := filepath.Join(dir, "名单.xlsx")
	if err := x.SaveAs(xlsxPath); err != nil {
		t.Fatal(err)
	}

	type shown struct {
		Lines  []string `json:"lines"`
		Bad    []string `json:"bad"`
		Msgs   []string `json:"msgs"`
		Header []string `json:"header"`
	}
	read := `(() => ({
		lines: [...document.querySelectorAll('#bad-rows tbody tr')].map(tr => tr.querySelector('td.num').textContent),
		bad: [...document.querySelectorAll('#bad-rows td.bad')].map(td => td.textContent),
		msgs: [...document.querySelectorAll('#bad-rows td.msg')].map(td => td.textContent),
		header: [...document.querySelectorAll('#bad-rows thead th')].map(th => th.textContent),
	}))()`
	// offRight is how many 问题 cells do not fit in the viewport's width
	// when the table is scrolled to its start.
	offRight := `[...document.querySelectorAll('#bad-rows td.msg')].filter(td => td.getBoundingClientRect().right > window.innerWidth + 1).length`
	for _, c := range []struct{ name, file string }{{"csv", csvFile}, {"xlsx", xlsxPath}} {
		t.Run(c.name, func(t *testing.T) {
			w.visit(t, ctx, "#/import")
			if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS(`input[type=file]`), []string{c.file}, chromedp.NodeReady),
				chromedp.WaitVisible(chromedp.CSS(`#bad-rows`))); err != nil {
				t.Fatal(err)
			}
			got, err := chromedp.Run(ctx, chromedp.Evaluate[shown](read))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got.Lines, " ") != "第5行 第7行" {
				t.Errorf("lines shown %q, want 第5行 第7行 (as Excel numbers them)", got.Lines)
			}
			if strings.Join(got.Bad, " ") != "十 12345" {
				t.Errorf("marked cells %q, want 十 and 12345", got.Bad)
			}
			if len(got.Msgs) != 2 || !strings.Contains(got.Msgs[0], "年级（E5）") || !strings.Contains(got.Msgs[0], "第5行") ||
				!strings.Contains(got.Msgs[1], "家长联系电话（H7）") {
				t.Errorf("problems shown %q", got.Msgs)
			}
			if len(got.Header) < 4 || got.Header[0] != "行" || got.Header[1] != "问题" || got.Header[4] != "姓  名" {
				t.Errorf("header shown %q, want 行, 问题, then the file's own", got.Header)
			}
			for _, vp := range viewports {
				var opts []chromedp.EmulateViewportOption
				if vp.mobile {
					opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
				}
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height, opts...)); err != nil {
					t.Fatal(err)
				}
				if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](offRight)); err != nil || n != 0 {
					t.Errorf("%s: %d 问题 cells run off the screen (%v)", vp.name, n, err)
				}
			}
			w.shoot(t, ctx, "school-import-title-row-"+c.name, "")
		})
	}
	var n int64
	w.srv.db.R.Raw("SELECT COUNT(*) FROM students WHERE student_no LIKE '2026UI%'").Scan(&n)
	if n != 0 {
		t.Fatalf("%d students written from a refused file", n)
	}
	noCSPViolations(t, ctx)
}
