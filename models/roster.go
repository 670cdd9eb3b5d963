package models

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// RosterColumns are the columns of a roster file, named by its header row
// (in any order; other columns are ignored); relationship may be left out.
var RosterColumns = []string{"student_no", "name", "gender", "grade", "class",
	"guardian_name", "guardian_phone", "relationship"}

// MaxRosterRows bounds the data rows of one roster import (a large school
// has a few thousand students; a county's worth is more than one school
// should upload at once).
const MaxRosterRows = 20000

// MaxGuardians bounds the guardians of one student in a roster (parents
// and grandparents).
const MaxGuardians = 6

// maxRowErrors bounds the errors an ImportError lists, so a file of garbage
// does not produce a multi-megabyte answer.
const maxRowErrors = 500

// Roster errors that are about the file as a whole.
var (
	ErrRosterEmpty   = E(KindInvalid, "empty_roster", "文件中没有数据行")
	ErrRosterTooLong = E(KindTooLarge, "too_many_rows", fmt.Sprintf("文件行数超过上限（%d 行）", MaxRosterRows))
)

// RosterRow is one data row of a roster file, as read: trimmed strings.
type RosterRow struct {
	// Row is the row's number among the data rows of its file, from 1;
	// zero means its index in the slice plus one.
	Row           int
	StudentNo     string
	Name          string
	Gender        string
	Grade         string
	Class         string
	GuardianName  string
	GuardianPhone string
	Relationship  string
	// Guardian names the columns the guardian was read from: "" for
	// guardian_name/guardian_phone/relationship, "father" or "mother"
	// for a class list that gives both parents on one row (the row is
	// read as one RosterRow per parent, with the same Row).
	Guardian string
	// FeeWaiver and WaiverReason are the optional waiver cells
	// (roster_waiver.go): empty leaves the student's waiver as it is.
	FeeWaiver    string
	WaiverReason string
}

func (r RosterRow) blank() bool {
	r.Row = 0
	return r == RosterRow{}
}

// RosterStudent is one student of a validated roster, with its guardians.
type RosterStudent struct {
	StudentNo string
	Name      string
	Gender    string // 男 or 女
	Grade     int
	Class     string
	Guardians []RosterGuardian
	// Waiver is the waiver the file sets (nil: the file leaves it as it
	// is).
	Waiver    *RosterWaiver
	row       int // first row, for conflict messages
	waiverRow int // the row that set Waiver
}

// RosterGuardian is one guardian of a validated roster.
type RosterGuardian struct {
	Name         string
	Phone        string // 11 digits
	Relationship string
}

// NormalizeGender maps 男/女/M/F (any case) to 男/女.
func NormalizeGender(s string) (string, bool) {
	switch strings.ToUpper(s) {
	case "男", "M":
		return "男", true
	case "女", "F":
		return "女", true
	}
	return "", false
}

// NormalizeMobile strips what people type into phone cells — spaces,
// hyphens, brackets, full-width digits, a +86, 0086 or 86 prefix — and
// reports whether what is left is a mainland mobile number.
func NormalizeMobile(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\u00A0', '\u3000', '(', ')', '（', '）', '—', '－':
			return -1
		}
		return r
	}, width.Narrow.String(s))
	s = strings.TrimPrefix(s, "+")
	switch {
	case len(s) == 15 && strings.HasPrefix(s, "0086"):
		s = s[4:]
	case len(s) == 13 && strings.HasPrefix(s, "86"):
		s = s[2:]
	}
	return s, ValidMobile(s)
}

// gradeWords are the ways Chinese school spreadsheets write a grade.
var gradeWords = map[string]int{
	"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
	"初一": 7, "初二": 8, "初三": 9, "初中一": 7, "初中二": 8, "初中三": 9,
	"小一": 1, "小二": 2, "小三": 3, "小四": 4, "小五": 5, "小六": 6,
}

// ParseGrade reads a grade as schools write it: 3, ３, 3.0, 3年级, 三年级,
// 小学三年级, 初一 (7) … 初三 (9). It reports false for anything that is not
// a grade 1–9.
func ParseGrade(s string) (int, bool) {
	s = strings.TrimSpace(width.Narrow.String(s))
	s = strings.TrimPrefix(s, "小学")
	s = strings.TrimSuffix(strings.TrimSuffix(s, "年级"), "级")
	if s == "" {
		return 0, false
	}
	if g, ok := gradeWords[s]; ok {
		return g, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && f >= 1 && f <= 9 {
		return int(f), true
	}
	return 0, false
}

// textOK reports whether s is non-empty (when required), at most max runes,
// and PlainText (no control, bidi or zero-width characters).
func textOK(s string, max int, required bool) bool {
	if s == "" {
		return !required
	}
	return utf8.RuneCountInString(s) <= max && PlainText(s)
}

// maskCell masks a phone-like cell for an error message: MaskPhone's form
// for 11 characters, else all but the last two characters.
func maskCell(s string) string {
	r := []rune(s)
	switch {
	case len(r) == 11:
		return string(r[:3]) + "****" + string(r[7:])
	case len(r) <= 2:
		return strings.Repeat("*", len(r))
	}
	return strings.Repeat("*", len(r)-2) + string(r[len(r)-2:])
}

// rosterRowError is the error of one cell: its message repeats the student
// number and the value found (a phone masked), so a secretary finds the row
// without counting.
func rosterRowError(row int, studentNo, field, value, msg string) RowError {
	no := "学号" + studentNo
	if studentNo == "" {
		no = "学号未填"
	}
	shown := "未填写"
	if value != "" {
		shown = "「" + value + "」"
	}
	return RowError{Row: row, Field: field, StudentNo: studentNo, Value: value,
		Message: fmt.Sprintf("第%d行（%s）：%s；填写的是%s", row, no, msg, shown)}
}

// rosterLines is how many lines of a file rows come from: the rows a
// two-parent line was read as share its number.
func rosterLines(rows []RosterRow) int {
	n, last := 0, -1
	for _, r := range rows {
		if r.Row == 0 || r.Row != last {
			n++
		}
		last = r.Row
	}
	return n
}

// ValidateRoster checks every row of a roster and groups the rows by
// student. It returns every problem it finds (up to a bound) as an
// ImportError, rows counted from 1; blank rows are skipped (but counted).
// A student_no repeated with another name, gender, grade or class is an
// error; a repeated (student_no, guardian phone) must name the same
// guardian. It is pure: no database.
func ValidateRoster(rows []RosterRow) ([]RosterStudent, error) {
	if rosterLines(rows) > MaxRosterRows {
		return nil, ErrRosterTooLong
	}
	var errs []RowError
	type cell struct {
		row   int
		field string
	}
	reported := map[cell]bool{} // a row read as two parents reports a student's cell once
	add := func(e RowError) {
		if len(errs) < maxRowErrors && !reported[cell{e.Row, e.Field}] {
			reported[cell{e.Row, e.Field}] = true
			errs = append(errs, e)
		}
	}
	byNo := map[string]int{} // student_no → index in out
	var out []RosterStudent
	for i, r := range rows {
		n := i + 1
		if r.Row > 0 {
			n = r.Row
		}
		if r.blank() {
			continue
		}
		// Spreadsheets typed on a Chinese keyboard hold full-width digits
		// and letters (２班, Ｍ); they mean the narrow ones.
		r.StudentNo, r.Gender, r.Class = width.Narrow.String(r.StudentNo), width.Narrow.String(r.Gender), width.Narrow.String(r.Class)
		ok := true
		check := func(cond bool, field, value, msg string) {
			if !cond {
				add(rosterRowError(n, r.StudentNo, field, value, msg))
				ok = false
			}
		}
		check(textOK(r.StudentNo, 32, true) && !strings.ContainsAny(r.StudentNo, " \t"), "student_no", r.StudentNo, "学号必填，最多32个字符，不含空格")
		check(textOK(r.Name, 50, true), "name", r.Name, "姓名必填，最多50个字符，不含控制字符、零宽字符或文字方向控制符")
		gender, gok := NormalizeGender(r.Gender)
		check(gok, "gender", r.Gender, "性别须为 男、女、M 或 F")
		grade, grok := ParseGrade(r.Grade)
		check(grok, "grade", r.Grade, "年级须为 1-9（也可写 3年级、三年级、初一 等）")
		check(textOK(r.Class, 20, true), "class", r.Class, "班级必填，最多20个字符")
		gcol := "guardian"
		if r.Guardian != "" {
			gcol = r.Guardian
		}
		check(textOK(r.GuardianName, 50, true), gcol+"_name", r.GuardianName, "监护人姓名必填，最多50个字符，不含控制字符、零宽字符或文字方向控制符")
		phone, pok := NormalizeMobile(r.GuardianPhone)
		check(pok, gcol+"_phone", maskCell(phone), "监护人手机号须为11位中国大陆手机号")
		check(textOK(r.Relationship, 20, false), "relationship", r.Relationship, "关系最多20个字符")
		waiver, wok := rosterWaiver(n, r, add)
		if !ok || !wok {
			continue
		}
		g := RosterGuardian{Name: r.GuardianName, Phone: phone, Relationship: r.Relationship}
		j, seen := byNo[r.StudentNo]
		if !seen {
			byNo[r.StudentNo] = len(out)
			out = append(out, RosterStudent{StudentNo: r.StudentNo, Name: r.Name, Gender: gender,
				Grade: grade, Class: r.Class, Guardians: []RosterGuardian{g}, Waiver: waiver, row: n, waiverRow: n})
			continue
		}
		st := &out[j]
		if !SameName(st.Name, r.Name) || st.Gender != gender || st.Grade != grade || ClassKey(st.Class) != ClassKey(r.Class) {
			add(rosterRowError(n, r.StudentNo, "student_no", r.StudentNo, fmt.Sprintf("学号与第%d行相同，但姓名、性别、年级或班级不一致", st.row)))
			continue
		}
		mergeRosterWaiver(st, waiver, n, r, add)
		dup := false
		for _, h := range st.Guardians {
			if h.Phone == phone {
				dup = true
				if h != g {
					add(rosterRowError(n, r.StudentNo, gcol+"_phone", maskCell(phone), "该学生的这个监护人手机号在前面的行已出现，但姓名或关系不一致"))
				}
			}
		}
		if !dup {
			if len(st.Guardians) >= MaxGuardians {
				add(rosterRowError(n, r.StudentNo, gcol+"_phone", maskCell(phone), fmt.Sprintf("每名学生最多%d位监护人", MaxGuardians)))
				continue
			}
			st.Guardians = append(st.Guardians, g)
		}
	}
	if len(errs) > 0 {
		return nil, &ImportError{Errors: errs}
	}
	if len(out) == 0 {
		return nil, ErrRosterEmpty
	}
	return out, nil
}
