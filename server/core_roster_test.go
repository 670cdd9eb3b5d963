package main

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"kehou/models"
	"kehou/models/modelstest"
)

const rosterHeader = "student_no,name,gender,grade,class,guardian_name,guardian_phone,relationship"

// rosterFixture is a school, its admin's token and its roster URL.
type rosterFixture struct {
	s      *testServer
	school models.School
	token  string
	url    string
}

func newRosterFixture(t *testing.T) rosterFixture {
	t.Helper()
	s := newTestServer(t)
	r := modelstest.Region(t, s.db, nil)
	sc := modelstest.School(t, s.db, r.ID)
	admin := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, sc.ID, 0)
	return rosterFixture{s: s, school: sc, token: s.token(admin), url: fmt.Sprintf("/api/v1/schools/%d/roster", sc.ID)}
}

func (f rosterFixture) csv(t *testing.T, body string) resp {
	t.Helper()
	return f.s.do("POST", f.url, f.token, body, "Content-Type", "text/csv; charset=utf-8")
}

func (f rosterFixture) counts(t *testing.T) [3]int64 {
	t.Helper()
	var out [3]int64
	for i, q := range []string{
		"SELECT COUNT(*) FROM students WHERE school_id = ?",
		"SELECT COUNT(*) FROM guardians g JOIN students s ON s.id = g.student_id WHERE s.school_id = ?",
		"SELECT COUNT(*) FROM classes WHERE school_id = ?",
	} {
		if err := f.s.db.R.Raw(q, f.school.ID).Scan(&out[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func wantResult(t *testing.T, r resp, created, updated int) {
	t.Helper()
	m := r.want(t, 200).JSON()
	if m["created"] != float64(created) || m["updated"] != float64(updated) {
		t.Fatalf("answer %s, want created %d updated %d", r.Body, created, updated)
	}
}

// multipartFile builds a multipart body with content in field.
func multipartFile(t *testing.T, field, filename string, content []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile(field, filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// xlsxFile builds an .xlsx whose first sheet holds rows; cells may be
// numbers, as Excel stores phone numbers and grades typed into it.
func xlsxFile(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRosterImportCSV(t *testing.T) {
	f := newRosterFixture(t)
	// BOM, spaces around names and values, columns in another order, an
	// extra column, a student with two guardians on two rows.
	body := "\uFEFF name , student_no,gender,grade,class,guardian_name,guardian_phone,relationship,备注\n" +
		"张小明, S001 ,男,3,2班,张伟,13812345678,父亲,\n" +
		"张小明,S001,男,3,2班,李娜,139 1234 5678,母亲,\n" +
		"王芳,S002,F,1,1班,王强,+8613700001111,父亲,x\n" +
		",,,,,,,,\n" +
		"赵磊,S003,m,6,3班,赵军,15800002222,,\n"
	wantResult(t, f.csv(t, body), 3, 0)
	if c := f.counts(t); c != [3]int64{3, 4, 3} {
		t.Fatalf("students, guardians, classes = %v", c)
	}
	list := f.s.do("GET", fmt.Sprintf("/api/v1/schools/%d/students", f.school.ID), f.token, nil).want(t, 200)
	if !strings.Contains(string(list.Body), `"student_no":"S001","name":"张小明","gender":"男","grade":3,"class":"2班"`) ||
		!strings.Contains(string(list.Body), `"student_no":"S002","name":"王芳","gender":"女"`) {
		t.Fatalf("students = %s", list.Body)
	}

	t.Run("reimportUpserts", func(t *testing.T) {
		// S001 drops a guardian; S002 moves class; S004 is new.
		body := rosterHeader + "\n" +
			"S001,张小明,男,3,2班,张伟,13812345678,父亲\n" +
			"S002,王芳,女,1,2班,王强,13700001111,父亲\n" +
			"S004,陈晨,女,4,1班,陈母,13600003333,母亲\n"
		wantResult(t, f.csv(t, body), 1, 2)
		if c := f.counts(t); c != [3]int64{4, 4, 5} {
			t.Fatalf("students, guardians, classes = %v, want no duplicates", c)
		}
		wantResult(t, f.csv(t, body), 0, 0)
		if c := f.counts(t); c != [3]int64{4, 4, 5} {
			t.Fatalf("students, guardians, classes = %v after the same file twice", c)
		}
	})
}

func TestRosterImportXLSX(t *testing.T) {
	f := newRosterFixture(t)
	rows := [][]any{
		{"student_no", "name", "gender", "grade", "class", "guardian_name", "guardian_phone", "relationship"},
		{"X001", "刘洋", "男", 2, "1班", "刘父", 13912340001, "父亲"},
		{"X001", "刘洋", "男", 2, "1班", "刘母", "13912340002", "母亲"},
		{"X002", "孙悦", "女", 5, "3班", "孙母", 18812340003, "母亲"},
	}
	file := xlsxFile(t, rows)
	t.Run("multipart", func(t *testing.T) {
		body, ctype := multipartFile(t, "file", "名单.xlsx", file)
		wantResult(t, f.s.do("POST", f.url, f.token, body, "Content-Type", ctype), 2, 0)
		if c := f.counts(t); c != [3]int64{2, 3, 2} {
			t.Fatalf("students, guardians, classes = %v", c)
		}
		var phones []string
		f.s.db.R.Raw("SELECT phone FROM guardians ORDER BY phone").Scan(&phones)
		if strings.Join(phones, ",") != "13912340001,13912340002,18812340003" {
			t.Fatalf("phones from numeric cells = %v", phones)
		}
	})
	t.Run("rawBody", func(t *testing.T) {
		wantResult(t, f.s.do("POST", f.url, f.token, file, "Content-Type", xlsxContentType), 0, 0)
	})
	t.Run("badRow422", func(t *testing.T) {
		bad := xlsxFile(t, append(rows, []any{"X003", "周杰", "男", 12, "1班", "周父", 13912340004, "父亲"}))
		body, ctype := multipartFile(t, "file", "名单.xlsx", bad)
		r := f.s.do("POST", f.url, f.token, body, "Content-Type", ctype).want(t, 422, "invalid_rows")
		if !strings.Contains(string(r.Body), `{"row":4,"field":"grade"`) {
			t.Fatalf("errors = %s", r.Body)
		}
	})
	t.Run("schoolSpreadsheetChineseHeaderUnderTitle", func(t *testing.T) {
		file := xlsxFile(t, [][]any{
			{"示范区实验小学 2026 学年学生名单"},
			{},
			{"学号", "姓名", "性别", "年级", "班级", "家长姓名", "家长手机号", "关系"},
			{"X010", "何静", "女", 1, "2班", "何父", 13912340010, "父亲"},
			{},
			{"X011", "高远", "男", 1, "2班", "高母", 13912340011, "母亲"},
		})
		body, ctype := multipartFile(t, "file", "名单.xlsx", file)
		wantResult(t, f.s.do("POST", f.url, f.token, body, "Content-Type", ctype), 2, 0)
		bad := xlsxFile(t, [][]any{
			{"学校名单"},
			{"学号", "姓名", "性别", "年级", "班级", "家长姓名", "家长手机号", "关系"},
			{"X012", "何静", "女", 1, "2班", "何父", 13912340012, "父亲"},
			{"X013", "高远", "男", 1, "2班", "高母", 1391234, "母亲"},
		})
		body, ctype = multipartFile(t, "file", "名单.xlsx", bad)
		r := f.s.do("POST", f.url, f.token, body, "Content-Type", ctype).want(t, 422, "invalid_rows")
		if !strings.Contains(string(r.Body), `{"row":2,"field":"guardian_phone"`) {
			t.Fatalf("errors = %s", r.Body)
		}
	})
	t.Run("csvInMultipart", func(t *testing.T) {
		body, ctype := multipartFile(t, "file", "名单.csv", []byte(rosterHeader+"\nX009,郑爽,女,1,1班,郑母,13912340009,母亲\n"))
		wantResult(t, f.s.do("POST", f.url, f.token, body, "Content-Type", ctype), 1, 0)
	})
}

const xlsxContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// TestRosterBadRowWritesNothing: one bad row among good ones → 422 naming
// the row and field, and the database is exactly as before.
func TestRosterBadRowWritesNothing(t *testing.T) {
	f := newRosterFixture(t)
	wantResult(t, f.csv(t, rosterHeader+"\nS1,甲,男,1,1班,甲父,13900000001,父亲\n"), 1, 0)
	before := f.counts(t)
	var good strings.Builder
	good.WriteString(rosterHeader + "\n")
	for i := 2; i <= 50; i++ {
		fmt.Fprintf(&good, "S%d,学生%d,女,2,新1班,家长%d,139%08d,母亲\n", i, i, i, i)
	}
	cases := []struct {
		name, row string
		rowNo     int
		field     string
	}{
		{"badPhone", "S99,坏,男,2,1班,家长,12345,父亲", 50, "guardian_phone"},
		{"badGender", "S99,坏,X,2,1班,家长,13900009999,父亲", 50, "gender"},
		{"badGrade", "S99,坏,男,0,1班,家长,13900009999,父亲", 50, "grade"},
		{"missingName", "S99,,男,2,1班,家长,13900009999,父亲", 50, "name"},
		{"conflictingStudent", "S2,别人,男,2,新1班,家长,13900009999,父亲", 50, "student_no"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.csv(t, good.String()+c.row+"\n").want(t, 422, "invalid_rows")
			errs, _ := r.JSON()["errors"].([]any)
			first, _ := errs[0].(map[string]any)
			if len(errs) != 1 || first["row"] != float64(c.rowNo) || first["field"] != c.field || first["message"] == "" {
				t.Fatalf("errors = %s", r.Body)
			}
			if r.JSON()["request_id"] == "" || strings.Contains(string(r.Body), "139000099") {
				t.Fatalf("answer = %s", r.Body)
			}
			if after := f.counts(t); after != before {
				t.Fatalf("counts %v after a failed import, want %v", after, before)
			}
		})
	}
}

// TestRosterBadFiles: unreadable or unacceptable uploads → 4xx with a code.
func TestRosterBadFiles(t *testing.T) {
	f := newRosterFixture(t)
	var long strings.Builder
	long.WriteString(rosterHeader + "\n")
	for i := 0; i <= models.MaxRosterRows; i++ {
		fmt.Fprintf(&long, "S%d,学生,男,1,1班,家长,13900000000,父亲\n", i)
	}
	noFile, noFileType := multipartFile(t, "other", "a.csv", []byte(rosterHeader))
	xls, xlsType := multipartFile(t, "file", "a.xls", []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0})
	zip, zipType := multipartFile(t, "file", "a.xlsx", []byte("PK\x03\x04garbage"))
	cases := []struct {
		name   string
		body   any
		ctype  string
		status int
		code   string
	}{
		{"json415", `{"a":1}`, "application/json", 415, "unsupported_media_type"},
		{"noContentType415", "a,b", "", 415, "unsupported_media_type"},
		{"empty422", "", "text/csv", 422, "empty_roster"},
		{"headerOnly422", rosterHeader + "\n", "text/csv", 422, "empty_roster"},
		{"missingColumn422", "student_no,name\nS1,甲\n", "text/csv", 422, "invalid_rows"},
		{"badQuote400", rosterHeader + "\nS1,\"甲\"x\"\n\"", "text/csv", 400, "bad_csv"},
		{"notGBK400", "\xff\xfe\xfd", "text/csv", 400, "bad_encoding"},
		{"multipartWithoutFile422", noFile, noFileType, 422, "invalid_field"},
		{"oldXLS400", xls, xlsType, 400, "bad_xlsx"},
		{"corruptXLSX400", zip, zipType, 400, "bad_xlsx"},
		{"tooManyRows413", long.String(), "text/csv", 413, "too_many_rows"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.s.do("POST", f.url, f.token, c.body, "Content-Type", c.ctype).want(t, c.status, c.code)
		})
	}
	if n := f.counts(t); n != [3]int64{} {
		t.Fatalf("counts %v after only bad files", n)
	}
}

// TestRosterGBK: Excel in China saves CSV as GBK; it imports as such.
func TestRosterGBK(t *testing.T) {
	f := newRosterFixture(t)
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(rosterHeader + "\nG1,欧阳娜娜,女,4,2班,欧阳父,13911112222,父亲\n")
	if err != nil {
		t.Fatal(err)
	}
	wantResult(t, f.s.do("POST", f.url, f.token, gbk, "Content-Type", "text/csv"), 1, 0)
	var name string
	f.s.db.R.Raw("SELECT name FROM students WHERE student_no = 'G1'").Scan(&name)
	if name != "欧阳娜娜" {
		t.Fatalf("name = %q", name)
	}
}

// TestRoster10000Rows imports 10,000 rows (8,000 students, 2,000 of them
// with a second guardian) and then the same file again. It reports the
// times; it does not assert them (see STYLE.md).
func TestRoster10000Rows(t *testing.T) {
	f := newRosterFixture(t)
	var b strings.Builder
	b.WriteString(rosterHeader + "\n")
	for i := 1; i <= 8000; i++ {
		row := fmt.Sprintf("N%05d,学生%d,%s,%d,%d班", i, i, []string{"男", "女"}[i%2], i%9+1, i%8+1)
		fmt.Fprintf(&b, "%s,家长甲%d,138%08d,父亲\n", row, i, i)
		if i <= 2000 {
			fmt.Fprintf(&b, "%s,家长乙%d,139%08d,母亲\n", row, i, i)
		}
	}
	body := b.String()
	start := time.Now()
	wantResult(t, f.csv(t, body), 8000, 0)
	first := time.Since(start)
	start = time.Now()
	wantResult(t, f.csv(t, body), 0, 0)
	again := time.Since(start)
	if c := f.counts(t); c != [3]int64{8000, 10000, 72} {
		t.Fatalf("students, guardians, classes = %v", c)
	}
	t.Logf("10,000-row roster (%d KB) on %s: first import %v, re-import %v", len(body)>>10, modelstest.Engine(), first.Round(time.Millisecond), again.Round(time.Millisecond))
}

// TestNoSecretsInLogs: after a roster import and a login, no log line holds
// a full phone number or a token.
func TestNoSecretsInLogs(t *testing.T) {
	f := newRosterFixture(t)
	phones := []string{"13812345678", "13987654321"}
	wantResult(t, f.csv(t, rosterHeader+"\nL1,甲,男,1,1班,甲父,"+phones[0]+",父亲\nL1,甲,男,1,1班,甲母,"+phones[1]+",母亲\n"), 1, 0)
	f.csv(t, rosterHeader+"\nL2,乙,男,1,1班,乙父,13800000000,父亲\nL3,丙,男,1,1班,丙父,1380000,父亲\n").want(t, 422)
	u := modelstest.Staff(t, f.s.db, models.RolePlatformAdmin, 0, 0)
	login := f.s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": *u.Username, "password": modelstest.Password}).want(t, 200).JSON()
	access, refresh := login["access_token"].(string), login["refresh_token"].(string)
	f.s.do("GET", "/api/v1/me", access, nil).want(t, 200)
	next := f.s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": refresh}).want(t, 200).JSON()
	// Spending the successor ends the old token's replay grace: reuse is 401.
	f.s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": next["refresh_token"].(string)}).want(t, 200)
	f.s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": refresh}).want(t, 401)

	logs := f.s.logs.String()
	if !strings.Contains(logs, `"route":"/api/v1/schools/:id/roster"`) {
		t.Fatalf("the requests were not logged at all:\n%s", logs)
	}
	for _, secret := range append(phones, "13800000000", "1380000", access, refresh, f.token, modelstest.Password) {
		if strings.Contains(logs, secret) {
			t.Fatalf("a log line contains %q:\n%s", secret, logs)
		}
	}
}
