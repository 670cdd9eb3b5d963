package models

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// A school's students as its staff list them (the console's 学生名单): each
// with its fee waiver, searched by name or student number. The search is
// the one the school's orders list uses (studentSearch), so a word typed in
// either finds the same children.

// SchoolStudent is a student of a school's list, with its fee waiver
// (none|half|full) and the waiver's reason.
type SchoolStudent struct {
	Student
	FeeWaiver    string `gorm:"column:fee_waiver"`
	WaiverReason string `gorm:"column:waiver_reason"`
	// Waiver says the caller may see the waiver (the school's admins, a
	// platform admin): its reason is health or social-assistance data, so
	// for a teacher FeeWaiver and WaiverReason are left empty.
	Waiver bool `gorm:"-"`
}

// StudentListFilter narrows a school's students: Query (part of the name,
// or the student number from its start, either case) and the page (ids
// above After, at most Limit).
type StudentListFilter struct {
	Query string
	After int64
	Limit int
}

// maxStudentQuery bounds the student search, in characters.
const maxStudentQuery = 40

// cleanStudentQuery is q trimmed, or a ValidationError on field "q": too
// long, or bytes PostgreSQL refuses as text (a broken UTF-8 sequence, NUL),
// which would end as a 500 there and match nothing on SQLite.
func cleanStudentQuery(q string) (string, error) {
	q = strings.TrimSpace(q)
	if utf8.RuneCountInString(q) > maxStudentQuery {
		return "", &ValidationError{Fields: map[string]string{"q": fmt.Sprintf("搜索词最多%d个字", maxStudentQuery)}}
	}
	if !PlainText(q) {
		return "", &ValidationError{Fields: map[string]string{"q": "搜索词含无效字符"}}
	}
	return q, nil
}

// studentSearch is the SQL condition (on students aliased s) and its
// arguments that find q, a cleaned non-empty query: part of the name, or
// the student number from its start. Both sides are lowered, so the search
// ignores case on both engines (PostgreSQL's LIKE does not; SQLite's lower
// folds ASCII only, which student numbers are).
func studentSearch(q string) (string, []any) {
	p := likeEscaper.Replace(strings.ToLower(q))
	return `(LOWER(s.name) LIKE ? ESCAPE '\' OR LOWER(s.student_no) LIKE ? ESCAPE '\')`, []any{"%" + p + "%", p + "%"}
}

// maxSchoolStudents bounds one page of a school's students.
const maxSchoolStudents = 500

// FindSchoolStudents lists schoolID's students in id order, narrowed by f,
// for its staff (or a platform admin); anyone else gets ErrNotFound.
// Reading the roster is recorded in the staff access log.
func FindSchoolStudents(ctx context.Context, db *DB, a Actor, schoolID int64, f StudentListFilter) ([]SchoolStudent, error) {
	if !a.IsSchoolStaff(schoolID) && a.Role != RolePlatformAdmin {
		return nil, ErrNotFound
	}
	var err error
	if f.Query, err = cleanStudentQuery(f.Query); err != nil {
		return nil, err
	}
	if _, err := FindSchoolByID(ctx, db, schoolID); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > maxSchoolStudents+1 {
		f.Limit = maxSchoolStudents + 1
	}
	q := "SELECT s.* FROM students s WHERE s.school_id = ? AND s.id > ?"
	args := []any{schoolID, f.After}
	if f.Query != "" {
		cond, cargs := studentSearch(f.Query)
		q += " AND " + cond
		args = append(args, cargs...)
	}
	q += " ORDER BY s.id LIMIT ?"
	args = append(args, f.Limit)
	out := []SchoolStudent{}
	if err := db.Read(ctx).Raw(q, args...).Scan(&out).Error; err != nil {
		return nil, err
	}
	detail := ""
	if f.Query != "" {
		detail = "q" // that a search was made, never what was searched
	}
	if a.CanManageSchool(schoolID) {
		for i := range out {
			out[i].Waiver = true
		}
	} else {
		for i := range out {
			out[i].FeeWaiver, out[i].WaiverReason = "", ""
		}
	}
	LogStaffAccess(ctx, db, a, "list_students", schoolID, detail)
	return out, nil
}
