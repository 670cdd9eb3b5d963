package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"kehou/models"
)

// rosterMemoryBudget is the most a roster import may raise the server's
// resident memory over what it held before, for any file the body limit
// lets through: the largest allowed roster needs about 25 MB.
const rosterMemoryBudget = 64 << 20

// handXLSX writes an .xlsx part by part, without excelize (which would pad
// a row with a cell in column XFD to 16,384 cells while writing it): the
// shared strings sst (none when nil) and a sheet whose <sheetData> body
// rows writes.
func handXLSX(t testing.TB, sst []string, rows func(w io.Writer)) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	part := func(name, body string) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	const ns = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	const rel = `http://schemas.openxmlformats.org/officeDocument/2006/relationships`
	part("[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">`+
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>`+
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>`+
		`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`+
		`<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`)
	part("_rels/.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`+
		`<Relationship Id="rId1" Type="`+rel+`/officeDocument" Target="xl/workbook.xml"/></Relationships>`)
	part("xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8"?><workbook `+ns+` xmlns:r="`+rel+`"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`)
	part("xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`+
		`<Relationship Id="rId1" Type="`+rel+`/worksheet" Target="worksheets/sheet1.xml"/>`+
		`<Relationship Id="rId2" Type="`+rel+`/sharedStrings" Target="sharedStrings.xml"/></Relationships>`)
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0" encoding="UTF-8"?><sst ` + ns + `>`)
	for _, s := range sst {
		sb.WriteString("<si><t>" + s + "</t></si>")
	}
	sb.WriteString("</sst>")
	part("xl/sharedStrings.xml", sb.String())
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><worksheet `+ns+`><sheetData>`)
	rows(w)
	io.WriteString(w, `</sheetData></worksheet>`)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// inlineRow writes row r with cells from column A as inline strings, then
// extra (raw <c> elements).
func inlineRow(w io.Writer, r int, cells []string, extra string) {
	fmt.Fprintf(w, `<row r="%d">`, r)
	for i, c := range cells {
		fmt.Fprintf(w, `<c r="%c%d" t="inlineStr"><is><t>%s</t></is></c>`, 'A'+i, r, c)
	}
	io.WriteString(w, extra)
	io.WriteString(w, "</row>")
}

// rosterSheet writes the header and n valid data rows, each followed by
// extra(r).
func rosterSheet(n int, extra func(r int) string) func(io.Writer) {
	return func(w io.Writer) {
		inlineRow(w, 1, strings.Split(rosterHeader, ","), extra(1))
		for i := 1; i <= n; i++ {
			inlineRow(w, i+1, []string{fmt.Sprintf("M%05d", i), "学生" + strconv.Itoa(i), "女", strconv.Itoa(i%9 + 1),
				strconv.Itoa(i%8+1) + "班", "家长" + strconv.Itoa(i), fmt.Sprintf("139%08d", i), "母亲"}, extra(i+1))
		}
	}
}

// peakRSSOver runs fn and reports the most this process's resident memory
// rose over what it held before fn (Linux: VmHWM after resetting it).
func peakRSSOver(t *testing.T, fn func()) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	base := procStatusKB(t, "VmRSS")
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak RSS: %v", err)
	}
	fn()
	return (procStatusKB(t, "VmHWM") - base) << 10
}

func procStatusKB(t *testing.T, field string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	t.Skipf("no %s in /proc/self/status", field)
	return 0
}

// TestRosterXLSXMemoryBounded imports the worst .xlsx files we could build
// and holds the peak resident memory each adds to the process under
// rosterMemoryBudget: a cell in column XFD on every row (excelize padded
// each such row to 16,384 cells: ~970 MB for 1,000 rows), a long shared
// string referenced by every row, a sheet that inflates a thousandfold, a
// row of too many cells. It logs the figures.
func TestRosterXLSXMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and imports 20,000-row files")
	}
	// Under -race the files are cut to 1,000 rows and the budget is only
	// logged: the detector's shadow memory is not the server's.
	n := models.MaxRosterRows
	if raceDetector {
		n = 1000
	}
	xfd := func(r int) string { return fmt.Sprintf(`<c r="XFD%d" t="inlineStr"><is><t>x</t></is></c>`, r) }
	long := strings.Repeat("长", 20000) // 60 KB, just under the reader's token bound
	sharedStray := func(r int) string {
		var b strings.Builder
		for c := 'J'; c <= 'Q'; c++ {
			fmt.Fprintf(&b, `<c r="%c%d" t="s"><v>0</v></c>`, c, r)
		}
		return b.String()
	}
	wide := func(n int) func(r int) string {
		return func(r int) string {
			var b strings.Builder
			fmt.Fprintf(&b, `<c r="J%d"/>`, r)
			b.WriteString(strings.Repeat(`<c s="1"></c>`, n-1))
			return b.String()
		}
	}
	none := func(int) string { return "" }
	cases := []struct {
		name   string
		file   func() []byte
		status int
		code   string
	}{
		{"xfd1000rows200", func() []byte { return handXLSX(t, nil, rosterSheet(1000, xfd)) }, 200, ""},
		{"xfdAllRows200", func() []byte { return handXLSX(t, nil, rosterSheet(n, xfd)) }, 200, ""},
		{"sharedStringInStrayColumns200", func() []byte { return handXLSX(t, []string{long}, rosterSheet(n, sharedStray)) }, 200, ""},
		{"sharedStringInReadColumn422", func() []byte {
			return handXLSX(t, []string{long}, func(w io.Writer) {
				rosterSheet(0, none)(w)
				for i := 1; i <= n; i++ {
					fmt.Fprintf(w, `<row r="%d"><c r="A%d" t="inlineStr"><is><t>L%d</t></is></c><c r="B%d" t="s"><v>0</v></c></row>`, i+1, i+1, i, i+1)
				}
			})
		}, 422, "invalid_rows"},
		{"inflatingAllRows200", func() []byte { return handXLSX(t, nil, rosterSheet(n, wide(150))) }, 200, ""},
		{"inflatingPastBudget400", func() []byte { return handXLSX(t, nil, rosterSheet(models.MaxRosterRows, wide(400))) }, 400, "bad_xlsx"},
		{"rowTooWide422", func() []byte { return handXLSX(t, nil, rosterSheet(10, wide(models.MaxRosterCellsPerRow+1))) }, 422, "row_too_wide"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if raceDetector && c.status == 400 {
				t.Skip("compressing 70 MB under -race takes long; the declared-size bound has its own test")
			}
			f := newRosterFixture(t)
			file := c.file()
			body, ctype := file, xlsxContentType
			file = nil
			peak := peakRSSOver(t, func() {
				r := f.s.do("POST", f.url, f.token, body, "Content-Type", ctype)
				if c.code == "" {
					r.want(t, c.status)
				} else {
					r.want(t, c.status, c.code)
				}
			})
			t.Logf("%s (%d KB uploaded) on %s: peak RSS +%.1f MB", c.name, len(body)>>10, f.s.db.Dialect, float64(peak)/(1<<20))
			if peak > rosterMemoryBudget && !raceDetector {
				t.Fatalf("peak RSS rose %d MB, budget %d MB", peak>>20, rosterMemoryBudget>>20)
			}
		})
	}
}

// colName is the letters of column c (from 0).
func colName(c int) string {
	s := ""
	for c++; c > 0; c = (c - 1) / 26 {
		s = string(rune('A'+(c-1)%26)) + s
	}
	return s
}
