package handlers

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/gofiber/fiber/v2"
	"github.com/xuri/excelize/v2"

	"kehou/models"
)

// Exports (offering rosters, the schools' statistics) share one shape: a
// file named for what it holds (篮球社-名单-2026-12-03.xlsx), sent with an
// RFC 6266/5987 Content-Disposition (an ASCII filename for old clients and
// the UTF-8 filename*), and cells typed by column: rates as percentages,
// yes/no as 是/否, and in XLSX columns as wide as their content with the
// header frozen.

// exportKind is how a column's cells are written.
type exportKind int

const (
	exportText  exportKind = iota // a string, guarded against formulas
	exportInt                     // an integer (int, int64), or empty
	exportRate                    // a float64 ratio 0..1, shown as a percentage
	exportYesNo                   // a bool or a 0/1 count, shown as 是/否
	exportYuan                    // an amount in fen (int64): "990.00" in CSV, a number shown 990.00 in XLSX
)

// exportTable is the content of an export: a header and rows of cells,
// each column of one kind.
type exportTable struct {
	headers []string
	kinds   []exportKind
	rows    [][]any
}

// sendExport answers t as a CSV or XLSX file named base.format (base is
// made safe for a file name; fallback is the ASCII name for clients that
// ignore filename*).
func sendExport(c *fiber.Ctx, t exportTable, format, base, fallback string) error {
	var body []byte
	switch format {
	case "csv":
		var buf bytes.Buffer
		buf.WriteString("\ufeff") // BOM: Excel opens UTF-8 CSV correctly
		w := csv.NewWriter(&buf)
		_ = w.Write(t.headers)
		for _, r := range t.rows {
			rec := make([]string, len(r))
			for i, v := range r {
				rec[i] = exportCSVCell(t.kinds[i], v)
			}
			_ = w.Write(rec)
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
		body = buf.Bytes()
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	default:
		b, err := exportXLSX(t)
		if err != nil {
			return err
		}
		body = b
		c.Set(fiber.HeaderContentType, xlsxType)
	}
	c.Set(fiber.HeaderContentDisposition, contentDisposition(safeFileName(base)+"."+format, fallback+"."+format))
	return c.Send(body)
}

// exportCSVCell writes one cell of kind k as CSV text.
func exportCSVCell(k exportKind, v any) string {
	switch k {
	case exportRate:
		f, ok := rateValue(v)
		if !ok {
			return noData
		}
		return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
	case exportYesNo:
		return yesNo(v)
	case exportYuan:
		if fen, ok := fenValue(v); ok {
			return models.Yuan(fen)
		}
	case exportInt:
		switch x := v.(type) {
		case int:
			return strconv.Itoa(x)
		case *int:
			if x != nil {
				return strconv.Itoa(*x)
			}
			return ""
		}
	}
	return cellString(v)
}

// rateValue reads a rate cell: a float64, or a *float64 that is nil when
// the rate has no data (shown as noData).
func rateValue(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case *float64:
		if x != nil {
			return *x, true
		}
	}
	return 0, false
}

func yesNo(v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "是"
		}
	case int64:
		if x > 0 {
			return "是"
		}
	case int:
		if x > 0 {
			return "是"
		}
	}
	return "否"
}

// exportXLSX writes t as a workbook of one sheet: a bold, frozen header,
// columns as wide as their widest cell, rates in a percentage format.
func exportXLSX(t exportTable) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, err
	}
	pct := "0.0%"
	percent, err := f.NewStyle(&excelize.Style{CustomNumFmt: &pct})
	if err != nil {
		return nil, err
	}
	// Amounts are numbers a finance officer sums, shown to the fen (a
	// double holds every fen of any real total exactly enough for that).
	yuanFmt := "#,##0.00"
	yuan, err := f.NewStyle(&excelize.Style{CustomNumFmt: &yuanFmt})
	if err != nil {
		return nil, err
	}
	widths := make([]int, len(t.headers))
	hdr := make([]any, len(t.headers))
	for i, h := range t.headers {
		hdr[i], widths[i] = h, displayWidth(h)
	}
	if err := f.SetSheetRow(sheet, "A1", &hdr); err != nil {
		return nil, err
	}
	for r, row := range t.rows {
		vals := make([]any, len(row))
		for i, v := range row {
			// Strings go in as text cells, which a spreadsheet never
			// evaluates: no formula guard is needed here (CSV has one).
			switch t.kinds[i] {
			case exportYesNo:
				v = yesNo(v)
			case exportRate:
				if f, ok := rateValue(v); ok {
					v = f
				} else {
					v = noData
				}
			case exportYuan:
				if fen, ok := fenValue(v); ok {
					v = float64(fen) / 100
				}
			case exportInt:
				if p, ok := v.(*int); ok {
					v = ""
					if p != nil {
						v = *p
					}
				}
			}
			vals[i] = v
			shown := fmt.Sprint(v)
			switch t.kinds[i] {
			case exportRate:
				shown = "100.0%"
			case exportYuan:
				shown = exportCSVCell(exportYuan, row[i])
				shown += strings.Repeat(",", len(shown)/4) // room for the thousands separators
			}
			widths[i] = max(widths[i], displayWidth(shown))
		}
		cell, _ := excelize.CoordinatesToCellName(1, r+2)
		if err := f.SetSheetRow(sheet, cell, &vals); err != nil {
			return nil, err
		}
	}
	styles := map[exportKind]int{exportRate: percent, exportYuan: yuan} // of the data rows
	last, _ := excelize.CoordinatesToCellName(len(t.headers), 1)
	if err := f.SetCellStyle(sheet, "A1", last, bold); err != nil {
		return nil, err
	}
	for i, k := range t.kinds {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(sheet, col, col, float64(min(widths[i]+2, 50))); err != nil {
			return nil, err
		}
		if st, ok := styles[k]; ok && len(t.rows) > 0 {
			if err := f.SetCellStyle(sheet, col+"2", col+strconv.Itoa(len(t.rows)+1), st); err != nil {
				return nil, err
			}
		}
	}
	if err := f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}
	if err := setDimension(f, sheet, len(t.headers), len(t.rows)+1); err != nil {
		return nil, err
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// fenValue is an exportYuan cell's amount in fen.
func fenValue(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	}
	return 0, false
}

// setDimension writes the sheet's used range (cols × rows from A1) into
// its dimension tag: excelize leaves "A1", and readers that trust the tag
// (openpyxl's read-only mode, some importers) would see one cell.
func setDimension(f *excelize.File, sheet string, cols, rows int) error {
	last, err := excelize.CoordinatesToCellName(max(cols, 1), max(rows, 1))
	if err != nil {
		return err
	}
	return f.SetSheetDimension(sheet, "A1:"+last)
}

// displayWidth is how many character cells s takes in a spreadsheet: two
// for a CJK (wide) character, one for others.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		if unicode.Is(unicode.Han, r) || (r >= 0x3000 && r <= 0x303F) || (r >= 0xFF00 && r <= 0xFF60) {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// safeFileName makes s usable as a file name on every system: no path
// separators or characters Windows forbids, no invisible characters, at
// most 80 characters.
func safeFileName(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n >= 80 {
			break
		}
		if strings.ContainsRune(`/\:*?"<>|`, r) || !models.PlainText(string(r)) {
			r = '_'
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// contentDisposition is an attachment header naming the file both ways
// (RFC 6266): filename= an ASCII fallback, filename*= UTF-8 percent-encoded
// (RFC 5987).
func contentDisposition(name, fallback string) string {
	var enc strings.Builder
	for _, c := range []byte(name) {
		if c < 0x80 && (c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$&+-.^_`|~", c) >= 0) {
			enc.WriteByte(c)
		} else {
			fmt.Fprintf(&enc, "%%%02X", c)
		}
	}
	return `attachment; filename="` + fallback + `"; filename*=UTF-8''` + enc.String()
}
