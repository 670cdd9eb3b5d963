package handlers

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/xuri/excelize/v2"

	"kehou/models"
)

// sheetMarks are the one-character marks of a printed attendance sheet.
var sheetMarks = map[string]string{models.MarkPresent: "出", models.MarkAbsent: "缺", models.MarkLeave: "假",
	models.MarkLate: "迟"}

// noData is what a cell with nothing to count shows (SPEC "Statistics": a
// rate whose denominator is zero is no data, shown as "—", never 0).
const noData = "—"

// sheetRate is a rate cell of a sheet, 0–1: a number in the XLSX (shown as
// a percentage), "93.3%" in the CSV.
type sheetRate float64

// sheetTable lays an attendance sheet out as rows of cells: a header (the
// student columns, a column per session — "停" marks a cancelled one — and
// the totals), a row per child with their marks and totals, and a last row
// of each session's attendance (present + late). A child with no counted
// mark has no rate ("—"); a session cancelled or without a roll taken (one
// still ahead, too) has no total ("—"), not 0.
func sheetTable(sh models.AttendanceSheet) [][]any {
	head := []any{"学号", "姓名", "年级", "班级"}
	for _, s := range sh.Sessions {
		h := s.Date[5:]
		if s.Status == models.SessionCancelled {
			h += "停"
		}
		head = append(head, h)
	}
	head = append(head, "出勤", "迟到", "请假", "缺勤", "出勤率")
	rows := [][]any{head}
	perSession := make([]int, len(sh.Sessions))
	marked := make([]bool, len(sh.Sessions))
	for _, st := range sh.Students {
		row := []any{cellString(st.StudentNo), cellString(st.Name), st.Grade, cellString(st.ClassName)}
		counts := map[string]int{}
		for j, s := range sh.Sessions {
			m := sh.Marks[[2]int64{st.ID, s.ID}]
			counts[m]++
			if m != "" {
				marked[j] = true
			}
			if m == models.MarkPresent || m == models.MarkLate {
				perSession[j]++
			}
			row = append(row, sheetMarks[m])
		}
		att := counts[models.MarkPresent] + counts[models.MarkLate]
		var rate any = noData
		if d := att + counts[models.MarkAbsent]; d > 0 {
			rate = sheetRate(float64(att) / float64(d))
		}
		row = append(row, counts[models.MarkPresent], counts[models.MarkLate], counts[models.MarkLeave],
			counts[models.MarkAbsent], rate)
		rows = append(rows, row)
	}
	total := []any{"合计", "", "", ""}
	for j, s := range sh.Sessions {
		if s.Status == models.SessionCancelled || !marked[j] {
			total = append(total, noData)
			continue
		}
		total = append(total, perSession[j])
	}
	return append(rows, total)
}

// attachment sets Content-Disposition for a download named name (UTF-8,
// RFC 6266 filename*), with fallback as the ASCII name for old clients.
func attachment(c *fiber.Ctx, name, fallback string) {
	var b strings.Builder
	for _, ch := range []byte(name) {
		if ch < 0x80 && (ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' ||
			strings.IndexByte("-._~", ch) >= 0) {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+fallback+`"; filename*=UTF-8''`+b.String())
}

// pctFormat shows a 0–1 rate as a percentage with one decimal.
var pctFormat = "0.0%"

// AttendanceSheet is GET /api/v1/offerings/{id}/attendance?month=YYYY-MM&format=xlsx|csv
// (the offering's teacher, the school's admin): the month's sheet, named
// like 篮球社-考勤-2026-11.xlsx.
func (h *API) AttendanceSheet(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	format := c.Query("format", "xlsx")
	if format != "csv" && format != "xlsx" {
		return BadRequest("bad_param", "format 须为 xlsx 或 csv")
	}
	month := c.Query("month")
	if month == "" {
		month = models.LocalDate(h.now())[:7]
	}
	sh, err := models.FindAttendanceSheet(c.UserContext(), h.DB, CurrentActor(c), id, month)
	if err != nil {
		return err
	}
	rows := sheetTable(sh)
	base := strings.NewReplacer("/", "_", "\\", "_", "\"", "_").Replace(sh.Offering.Name) + "-考勤-" + month
	fallback := fmt.Sprintf("attendance-%d-%s.%s", id, month, format)
	if format == "csv" {
		var buf bytes.Buffer
		buf.WriteString("\uFEFF")
		w := csv.NewWriter(&buf)
		for _, r := range rows {
			rec := make([]string, len(r))
			for i, v := range r {
				if x, ok := v.(sheetRate); ok {
					v = strconv.FormatFloat(100*float64(x), 'f', 1, 64) + "%"
				}
				rec[i] = fmt.Sprint(v)
			}
			_ = w.Write(rec)
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		attachment(c, base+".csv", fallback)
		return c.Send(buf.Bytes())
	}
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	pct, err := f.NewStyle(&excelize.Style{CustomNumFmt: &pctFormat})
	if err != nil {
		return err
	}
	for i, r := range rows {
		for j, v := range r {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			if x, ok := v.(sheetRate); ok {
				// A number the secretary can sort and average, shown as 93.3%.
				if err := f.SetCellFloat(sheet, cell, float64(x), -1, 64); err != nil {
					return err
				}
				if err := f.SetCellStyle(sheet, cell, cell, pct); err != nil {
					return err
				}
				continue
			}
			if err := f.SetCellValue(sheet, cell, v); err != nil {
				return err
			}
		}
	}
	_ = f.SetPanes(sheet, &excelize.Panes{Freeze: true, XSplit: 2, YSplit: 1, TopLeftCell: "C2", ActivePane: "bottomRight"})
	width := 0
	for _, r := range rows {
		width = max(width, len(r))
	}
	if err := setDimension(f, sheet, width, len(rows)); err != nil {
		return err
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	attachment(c, base+".xlsx", fallback)
	return c.Send(buf.Bytes())
}
