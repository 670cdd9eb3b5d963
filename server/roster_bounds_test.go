package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// liveRoster is a real server (run, on a TCP port) and a school admin's
// token: a file posted to it is read from the socket by fasthttp as in
// production, where the in-process harness copies a body several times
// over (about 60 MB for a 10 MB body) before the server sees it.
type liveRoster struct {
	url, token string
	db         *models.DB
}

func newLiveRoster(t *testing.T) liveRoster {
	t.Helper()
	url := modelstest.URL(t)
	db := modelstest.Open(t, url)
	sc := modelstest.School(t, db, modelstest.Region(t, db, nil).ID)
	u := modelstest.Staff(t, db, models.RoleSchoolAdmin, sc.ID, 0)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, nil, envFor("DATABASE_URL", url, "LISTEN_ADDR", addr), &bytes.Buffer{}, &syncWriter{w: &bytes.Buffer{}})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("run = %v", err)
		}
	})
	if err := waitUp("http://" + addr + "/healthz"); err != nil {
		t.Fatal(err)
	}
	l := liveRoster{url: fmt.Sprintf("http://%s/api/v1/schools/%d/roster", addr, sc.ID), db: db}
	login, _ := json.Marshal(map[string]string{"username": *u.Username, "password": modelstest.Password})
	res, err := http.Post("http://"+addr+"/api/v1/auth/login", "application/json", bytes.NewReader(login))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var pair struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&pair); err != nil || pair.AccessToken == "" {
		t.Fatalf("login %d: %v", res.StatusCode, err)
	}
	l.token = pair.AccessToken
	return l
}

// post sends body (not copied) and answers the status and the error code.
func (l liveRoster) post(t *testing.T, body []byte, ctype string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", l.url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+l.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// postWant posts body and fails unless the answer is status with code,
// reporting the peak resident memory the request added to the process.
func (l liveRoster) postWant(t *testing.T, body []byte, ctype string, status int, code string) (int64, map[string]any) {
	t.Helper()
	var (
		got int
		m   map[string]any
	)
	peak := peakRSSOver(t, func() { got, m = l.post(t, body, ctype) })
	t.Logf("%s (%d KB posted) on %s: peak RSS +%.1f MB", t.Name(), len(body)>>10, l.db.Dialect, float64(peak)/(1<<20))
	if got != status || code != "" && m["code"] != code {
		t.Fatalf("answer %d %v, want %d %s", got, m, status, code)
	}
	if peak > rosterMemoryBudget && !raceDetector {
		t.Fatalf("peak RSS rose %d MB, budget %d MB", peak>>20, rosterMemoryBudget>>20)
	}
	return peak, m
}

// rosterCSVHeader is rosterHeader split by delimiter d.
func rosterCSVHeader(d string) string { return strings.ReplaceAll(rosterHeader, ",", d) }

// TestRosterCSVMemoryBounded posts the CSV files that made encoding/csv
// build a whole record before the reader could count its cells — a header
// and then a line of nearly 10 MB of delimiters (a record of ten million
// empty cells: +1,000 MB resident), for each delimiter a roster may use —
// and a line or a quoted cell of nearly 10 MB, and holds the peak resident
// memory each adds under rosterMemoryBudget, each refused with its code.
func TestRosterCSVMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("posts 10 MB files")
	}
	size := 10<<20 - 4<<10 // under the body limit with the header
	if raceDetector {
		size = 1 << 20
	}
	type tc struct {
		name   string
		body   func() string
		status int
		code   string
	}
	var cases []tc
	for _, d := range []string{",", "\t", ";", "，", "|"} {
		cases = append(cases, tc{fmt.Sprintf("delimiters%U", []rune(d)[0]), func() string {
			return rosterCSVHeader(d) + "\n" + strings.Repeat(d, size/len(d))
		}, 422, "row_too_wide"})
	}
	cases = append(cases,
		tc{"longLine", func() string { return rosterHeader + "\n" + strings.Repeat("x", size) }, 422, "line_too_long"},
		tc{"longQuotedCell", func() string {
			return rosterHeader + "\nS1,\"" + strings.Repeat("甲\n", size/4) + "\",男,3,1班,父,13800000001,父亲\n"
		}, 422, "line_too_long"},
		tc{"longTitleLine", func() string { return strings.Repeat("标题", size/6) + "\n" + rosterHeader + "\n" }, 422, "line_too_long"},
	)
	l := newLiveRoster(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l.postWant(t, []byte(c.body()), "text/csv; charset=utf-8", c.status, c.code)
		})
	}
	var n int64
	l.db.R.Raw("SELECT COUNT(*) FROM students").Scan(&n)
	if n != 0 {
		t.Fatalf("%d students after only refused files", n)
	}
}

// TestRosterCSVBounds: each bound of a CSV row answers its code at its
// edge, for every delimiter: MaxRosterCellsPerRow cells and a row of
// MaxRosterLineBytes import; one more cell or byte is refused, naming the
// row as a spreadsheet numbers it.
func TestRosterCSVBounds(t *testing.T) {
	f := newRosterFixture(t)
	row := func(d string, i int) string {
		return strings.Join([]string{fmt.Sprintf("E%d", i), "甲", "男", "3", "1班", "甲父", "13800000001", "父亲"}, d)
	}
	for i, d := range []string{",", "\t", ";", "，", "|"} {
		name := fmt.Sprintf("%U", []rune(d)[0])
		t.Run("cellsAtBound200"+name, func(t *testing.T) {
			r := row(d, i) + strings.Repeat(d, models.MaxRosterCellsPerRow-8)
			wantResult(t, f.csv(t, "名单\n"+rosterCSVHeader(d)+"\n"+r+"\n"), 1, 0)
		})
		t.Run("cellsPastBound422"+name, func(t *testing.T) {
			r := row(d, i) + strings.Repeat(d, models.MaxRosterCellsPerRow-7)
			m := f.csv(t, "名单\n"+rosterCSVHeader(d)+"\n"+r+"\n").want(t, 422, "row_too_wide").JSON()
			if !strings.Contains(m["message"].(string), "第3行") {
				t.Fatalf("message %q does not name line 3", m["message"])
			}
		})
	}
	pad := func(n int) string { return row(",", 99) + ",\"" + strings.Repeat("x", n) + "\"" }
	t.Run("lineAtBound200", func(t *testing.T) {
		r := pad(0)
		r = pad(models.MaxRosterLineBytes - len(r))
		wantResult(t, f.csv(t, rosterHeader+"\n"+r+"\n"), 1, 0)
	})
	t.Run("linePastBound422", func(t *testing.T) {
		r := pad(0)
		r = pad(models.MaxRosterLineBytes - len(r) + 1)
		m := f.csv(t, rosterHeader+"\n"+r+"\n").want(t, 422, "line_too_long").JSON()
		if !strings.Contains(m["message"].(string), "第2行") {
			t.Fatalf("message %q does not name line 2", m["message"])
		}
	})
}

// TestRosterCSVQuotedCells: the splitter reads RFC 4180 cells with every
// delimiter — a quoted cell holding the delimiter and a CRLF line break
// (in a first column the roster does not read: a split there would shift
// every cell after it), doubled quotes — as encoding/csv did.
func TestRosterCSVQuotedCells(t *testing.T) {
	f := newRosterFixture(t)
	for i, d := range []string{",", "\t", ";", "，", "|"} {
		no := fmt.Sprintf("Q%d", i)
		row := strings.Join([]string{"\"备" + d + "注\r\n" + d + "\"", no, `"赵""小"""`, "男", `"3"`, "1班", "赵父", `"138 0000 0009"`, `"父""亲"""`}, d)
		t.Run(fmt.Sprintf("%U", []rune(d)[0]), func(t *testing.T) {
			wantResult(t, f.csv(t, "备注"+d+rosterCSVHeader(d)+"\r\n"+row+"\r\n"), 1, 0)
			var got string
			f.s.db.R.Raw(`SELECT s.name || '/' || g.relationship FROM students s JOIN guardians g ON g.student_id = s.id
				WHERE s.student_no = ?`, no).Scan(&got)
			if want := `赵"小"/父"亲"`; got != want {
				t.Fatalf("stored %q, want %q", got, want)
			}
		})
	}
}

// withEntries is the .xlsx file with n more empty entries.
func withEntries(t *testing.T, file []byte, n int) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, zf := range zr.File {
		if err := zw.Copy(zf); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if _, err := zw.CreateRaw(&zip.FileHeader{Name: fmt.Sprintf("e/%06d", i), Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRosterXLSXMarkupAndEntriesBounded posts the .xlsx files that passed
// the reader's bounds: a 60 MB comment full of '<' (one token of the XML
// decoder, which the guard's count restarted at every '<': 200 and +129 MB),
// the same as a CDATA section, a document type declaration and a
// processing instruction, and an archive of a hundred thousand empty
// entries (+76 MB). Each is refused with its code, its peak resident
// memory under rosterMemoryBudget; an XML declaration, a small processing
// instruction and xlsxMaxEntries entries still import.
func TestRosterXLSXMarkupAndEntriesBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("inflates 60 MB parts")
	}
	big := 60 << 20
	if raceDetector {
		big = 4 << 20
	}
	filler := strings.Repeat("<a>", big/3)
	rows := func(mid string) func(w io.Writer) {
		return func(w io.Writer) {
			inlineRow(w, 1, strings.Split(rosterHeader, ","), "")
			io.WriteString(w, mid)
			inlineRow(w, 2, []string{"X1", "甲", "男", "3", "1班", "甲父", "13800000001", "父亲"}, "")
		}
	}
	sheet := func(mid string) func() []byte { return func() []byte { return handXLSX(t, nil, rows(mid)) } }
	cases := []struct {
		name   string
		file   func() []byte
		status int
		code   string
	}{
		{"comment400", sheet("<!--" + filler + "-->"), 400, "xlsx_markup"},
		{"cdata400", sheet(`<row r="3"><c r="A3" t="inlineStr"><is><t><![CDATA[` + filler + `]]></t></is></c></row>`), 400, "xlsx_markup"},
		{"doctypeInSharedStrings400", func() []byte {
			return handXLSX(t, []string{`x</t></si><!DOCTYPE x [` + filler + `]><si><t>y`}, rows(""))
		}, 400, "xlsx_markup"},
		{"processingInstruction422", sheet("<?x " + filler + "?>"), 422, "cell_too_long"},
		{"smallProcessingInstruction200", sheet(`<?x <a> ?>`), 200, ""},
		{"manyEntries400", func() []byte { return withEntries(t, handXLSX(t, nil, rows("")), 100_000) }, 400, "xlsx_too_many_entries"},
		{"entriesAtBound200", func() []byte { return withEntries(t, handXLSX(t, nil, rows("")), 1000-6) }, 200, ""},
		{"entriesPastBound400", func() []byte { return withEntries(t, handXLSX(t, nil, rows("")), 1000-5) }, 400, "xlsx_too_many_entries"},
	}
	l := newLiveRoster(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := c.file()
			l.postWant(t, file, xlsxContentType, c.status, c.code)
			body, ctype := multipartFile(t, "file", "名单.xlsx", file)
			l.postWant(t, body, ctype, c.status, c.code)
		})
	}
}
