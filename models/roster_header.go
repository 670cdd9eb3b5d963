package models

import (
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/width"
)

// RosterPairColumns are the columns of a class list that gives both
// parents on one row (父亲姓名, 父亲电话, 母亲姓名, 母亲电话): each parent with a
// phone becomes a guardian of the row's student, its relationship 父亲 or
// 母亲. They may stand in for guardian_name and guardian_phone, or beside
// them; a parent's name column may be left out (the guardian is then
// named 父亲 or 母亲).
var RosterPairColumns = []string{"father_name", "father_phone", "mother_name", "mother_phone"}

// rosterTitleRows is how many rows above the header a file may have (a
// title such as "XX小学2026级学生名单" is common in school spreadsheets).
const rosterTitleRows = 5

// rosterStudentColumns are the columns every roster header names.
var rosterStudentColumns = []string{"student_no", "name", "gender", "grade", "class"}

// rosterAliases are the Chinese column names schools' own spreadsheets use,
// accepted beside the English ones, keyed by their normalizeHeader form
// (so 姓  名, 姓名： and ＊姓名 are 姓名).
var rosterAliases = map[string]string{
	"学号": "student_no", "学籍号": "student_no", "学生学号": "student_no",
	"姓名": "name", "学生姓名": "name", "学生": "name",
	"性别": "gender", "学生性别": "gender",
	"年级": "grade", "班级": "class", "班别": "class", "班级名称": "class", "所在班级": "class",
	"监护人": "guardian_name", "监护人姓名": "guardian_name", "家长姓名": "guardian_name", "家长": "guardian_name",
	"监护人手机号": "guardian_phone", "监护人电话": "guardian_phone", "监护人联系电话": "guardian_phone",
	"监护人手机": "guardian_phone", "监护人联系方式": "guardian_phone",
	"家长手机号": "guardian_phone", "家长电话": "guardian_phone", "家长联系电话": "guardian_phone",
	"家长手机": "guardian_phone", "家长联系方式": "guardian_phone",
	"手机号": "guardian_phone", "手机": "guardian_phone", "联系电话": "guardian_phone", "联系方式": "guardian_phone",
	"关系": "relationship", "与学生关系": "relationship", "监护人关系": "relationship", "家长关系": "relationship",
	"父亲姓名": "father_name", "父亲": "father_name", "爸爸姓名": "father_name",
	"父亲电话": "father_phone", "父亲手机": "father_phone", "父亲手机号": "father_phone", "父亲联系电话": "father_phone",
	"爸爸电话": "father_phone", "爸爸手机": "father_phone", "爸爸手机号": "father_phone",
	"母亲姓名": "mother_name", "母亲": "mother_name", "妈妈姓名": "mother_name",
	"母亲电话": "mother_phone", "母亲手机": "mother_phone", "母亲手机号": "mother_phone", "母亲联系电话": "mother_phone",
	"妈妈电话": "mother_phone", "妈妈手机": "mother_phone", "妈妈手机号": "mother_phone",
	// The optional waiver columns (roster_waiver.go).
	"减免": "fee_waiver", "费用减免": "fee_waiver", "减免类型": "fee_waiver", "减免情况": "fee_waiver",
	"减免等级": "fee_waiver", "收费减免": "fee_waiver", "减免标准": "fee_waiver",
	"减免原因": "waiver_reason", "减免理由": "waiver_reason", "减免依据": "waiver_reason",
	"困难类型": "waiver_reason", "困难类别": "waiver_reason",
}

// normalizeHeader is a header cell as matched against the column names:
// narrow, lower case, without spaces of any width (姓  名, 姓　名), a BOM, a
// required-field star or a trailing colon.
func normalizeHeader(h string) string {
	h = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '\uFEFF' || r == '*' {
			return -1
		}
		return r
	}, width.Narrow.String(h))
	return strings.ToLower(strings.TrimRight(h, ":"))
}

// rosterColumn is the column a header cell names, or "".
func rosterColumn(h string) string {
	h = normalizeHeader(h)
	if c, ok := rosterAliases[h]; ok {
		return c
	}
	if slices.Contains(RosterColumns, h) || slices.Contains(RosterPairColumns, h) || slices.Contains(RosterWaiverColumns, h) {
		return h
	}
	return ""
}

// rosterHeader maps one record's cells to column → index, with the errors
// (missing or repeated columns) it would have as the header. A header
// names the student's columns and its guardians either as
// guardian_name/guardian_phone or as a parent's phone (RosterPairColumns).
func rosterHeader(rec []string) (map[string]int, []RowError) {
	idx := map[string]int{}
	var errs []RowError
	for i, h := range rec {
		c := rosterColumn(h)
		if c == "" {
			continue
		}
		if _, dup := idx[c]; dup {
			errs = append(errs, RowError{Row: 0, Field: c, Message: "表头中该列重复"})
			continue
		}
		idx[c] = i
	}
	has := func(c string) bool { _, ok := idx[c]; return ok }
	missing := func(c string) {
		errs = append(errs, RowError{Row: 0, Field: c, Message: "表头缺少该列", Value: c})
	}
	for _, c := range rosterStudentColumns {
		if !has(c) {
			missing(c)
		}
	}
	pairs := has("father_phone") || has("mother_phone")
	if has("guardian_name") || has("guardian_phone") || !pairs {
		for _, c := range []string{"guardian_name", "guardian_phone"} {
			if !has(c) {
				missing(c)
			}
		}
	}
	for _, p := range []string{"father", "mother"} {
		if has(p+"_name") && !has(p+"_phone") {
			missing(p + "_phone")
		}
	}
	return idx, errs
}

// rosterParents are the parents of a row of a two-parent class list.
var rosterParents = []struct{ prefix, relationship string }{{"father", "父亲"}, {"mother", "母亲"}}

// expandParents turns a row read with the parents' columns into one
// RosterRow per guardian: the guardian_* one when the header has those
// columns, then each parent with a name or a phone (a parent whose phone
// is the same as an earlier guardian's is the same guardian). A row of a
// two-parent list with neither parent gives one row with the father's
// empty phone, which ValidateRoster refuses.
func expandParents(row RosterRow, cells map[string]string, withGuardian bool) []RosterRow {
	var out []RosterRow
	var phones []string
	if withGuardian {
		out = append(out, row)
		p, _ := NormalizeMobile(row.GuardianPhone)
		phones = append(phones, p)
	}
	for _, par := range rosterParents {
		name, phone := cells[par.prefix+"_name"], cells[par.prefix+"_phone"]
		if name == "" && phone == "" {
			continue
		}
		if p, ok := NormalizeMobile(phone); ok && slices.Contains(phones, p) {
			continue
		} else {
			phones = append(phones, p)
		}
		if name == "" {
			name = par.relationship
		}
		g := row
		g.Guardian, g.GuardianName, g.GuardianPhone, g.Relationship = par.prefix, name, phone, par.relationship
		out = append(out, g)
	}
	if len(out) == 0 {
		g := row
		g.Guardian, g.GuardianName, g.Relationship = "father", "父亲", "父亲"
		out = append(out, g)
	}
	return out
}
