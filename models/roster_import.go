package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// RosterResult is the outcome of ImportRoster: how many students of the file
// were new, and how many existed and were overwritten with the file's data.
type RosterResult struct {
	Created int
	Updated int
	// Waivers is the students whose fee waiver the file set or changed
	// (a waiver the file repeats as stored is not counted).
	Waivers int
}

// CheckRosterAccess reports whether a may import the roster of schoolID: its
// school admin or a platform admin. Other staff roles are ErrForbidden; a
// school admin of another school, or a school that does not exist, is
// ErrNotFound.
func CheckRosterAccess(ctx context.Context, db *DB, a Actor, schoolID int64) error {
	switch a.Role {
	case RolePlatformAdmin:
	case RoleSchoolAdmin:
		if a.SchoolID != schoolID {
			return ErrNotFound
		}
	default:
		return ErrForbidden
	}
	_, err := FindSchoolByID(ctx, db, schoolID)
	return err
}

// ImportRoster validates every row of a roster and then, in one transaction,
// upserts its students by (school, student_no), creates missing classes, and
// makes each student's guardians exactly those of the file; a parent linked
// by proving the phone of a guardian the file drops loses the link, and a
// parent who proved a phone the file lists gets the link (and a message). One invalid row
// fails the whole import (an ImportError) and nothing is written. Students of
// the school that are not in the file are left as they are, so a school may
// import grade by grade.
func ImportRoster(ctx context.Context, db *DB, a Actor, schoolID int64, rows []RosterRow) (RosterResult, error) {
	defer db.linksChanged() // after the commit: cached children are stale (cache.go)
	if err := CheckRosterAccess(ctx, db, a, schoolID); err != nil {
		return RosterResult{}, err
	}
	students, err := ValidateRoster(rows)
	if err != nil {
		return RosterResult{}, err
	}
	var res RosterResult
	now := time.Now().UTC()
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		res, err = writeRoster(tx, db.Dialect, db.childrenCap(), a.UserID, schoolID, students, now)
		return err
	})
	if err != nil {
		return RosterResult{}, err
	}
	LogStaffAccess(ctx, db, a, "import_roster", schoolID, fmt.Sprintf("created=%d updated=%d waivers=%d", res.Created, res.Updated, res.Waivers))
	return res, nil
}

// rosterBatch is the rows per multi-row INSERT: 500 rows × 10 columns stays
// far below both engines' bound on bound parameters.
const rosterBatch = 500

// writeRoster writes validated students into schoolID inside tx, for user
// by (the waiver audit's who).
func writeRoster(tx *gorm.DB, d Dialect, guardianCap int, by, schoolID int64, students []RosterStudent, now time.Time) (RosterResult, error) {
	var res RosterResult
	if d == Postgres {
		// Serialise imports of one school, so the created/updated counts of
		// two concurrent imports are both right. (SQLite's IMMEDIATE
		// transactions already serialise every writer.)
		if err := tx.Exec("SELECT id FROM schools WHERE id = ? FOR UPDATE", schoolID).Error; err != nil {
			return res, err
		}
	}

	// Classes: matched by grade and ClassKey, so (2)班 and 2班 are one
	// class, named as it was first written (a class of the school, else
	// the file's first spelling); students take the class's name. Create
	// the missing ones, then map (grade, name) → id.
	type classKey struct {
		grade int
		name  string
	}
	var classes []Class
	if err := tx.Where("school_id = ?", schoolID).Order("id").Find(&classes).Error; err != nil {
		return res, err
	}
	named := map[classKey]string{} // (grade, ClassKey) → the class's name
	for _, c := range classes {
		if k := (classKey{c.Grade, ClassKey(c.Name)}); named[k] == "" {
			named[k] = c.Name
		}
	}
	var classRows [][]any
	for i, s := range students {
		k := classKey{s.Grade, ClassKey(s.Class)}
		if name, ok := named[k]; ok {
			students[i].Class = name
			continue
		}
		named[k] = s.Class
		classRows = append(classRows, []any{schoolID, s.Grade, s.Class})
	}
	if len(classRows) > 0 {
		if err := insertRows(tx, "INSERT INTO classes (school_id, grade, name) VALUES", classRows,
			"ON CONFLICT (school_id, grade, name) DO NOTHING"); err != nil {
			return res, err
		}
		classes = classes[:0]
		if err := tx.Where("school_id = ?", schoolID).Find(&classes).Error; err != nil {
			return res, err
		}
	}
	classID := make(map[classKey]int64, len(classes))
	for _, c := range classes {
		classID[classKey{c.Grade, c.Name}] = c.ID
	}

	// Students: those the file changes (new ones, or another name, gender,
	// grade, class, activity or set of guardians) are upserted and counted;
	// the others are left alone, so the same file twice updates nothing.
	before, err := rosterState(tx, schoolID)
	if err != nil {
		return res, err
	}
	changed := students[:0:0]
	for _, s := range students {
		h, ok := before[s.StudentNo]
		switch {
		case !ok:
			res.Created++
		case h.same(s):
			continue
		default:
			res.Updated++
		}
		changed = append(changed, s)
	}
	students = changed
	studentRows := make([][]any, 0, len(students))
	for _, s := range students {
		studentRows = append(studentRows, []any{schoolID, classID[classKey{s.Grade, s.Class}], s.StudentNo,
			s.Name, s.Gender, s.Grade, s.Class, true, now, now})
	}
	if err := insertRows(tx, `INSERT INTO students (school_id, class_id, student_no, name, gender, grade,
		class_name, active, created_at, updated_at) VALUES`, studentRows,
		`ON CONFLICT (school_id, student_no) DO UPDATE SET class_id = excluded.class_id,
		name = excluded.name, gender = excluded.gender, grade = excluded.grade,
		class_name = excluded.class_name, active = excluded.active, updated_at = excluded.updated_at`); err != nil {
		return res, err
	}
	after, err := studentIDs(tx, schoolID)
	if err != nil {
		return res, err
	}

	// Guardians: drop those the file no longer lists for its students, then
	// upsert the file's by (student, phone), which keeps the ids of guardians
	// that did not change.
	want := map[int64]map[string]bool{}
	var guardianRows [][]any
	for _, s := range students {
		id := after[s.StudentNo]
		want[id] = map[string]bool{}
		for _, g := range s.Guardians {
			want[id][g.Phone] = true
			guardianRows = append(guardianRows, []any{id, g.Name, g.Phone, g.Relationship})
		}
	}
	var existing []Guardian
	if err := tx.Raw(`SELECT g.id, g.student_id, g.phone FROM guardians g JOIN students s ON s.id = g.student_id
		WHERE s.school_id = ?`, schoolID).Scan(&existing).Error; err != nil {
		return res, err
	}
	var stale []int64
	for _, g := range existing {
		if phones, inFile := want[g.StudentID]; inFile && !phones[g.Phone] {
			stale = append(stale, g.ID)
			// A parent linked by proving this phone is no longer the
			// child's guardian: the link goes with the guardian, or a
			// guardian the school removed (a custody change) would keep
			// seeing and enrolling the child — also when the parent has
			// moved to another phone since (the link records the phone).
			if err := dropPhoneLinks(tx, g.StudentID, g.Phone); err != nil {
				return res, err
			}
		}
	}
	for start := 0; start < len(stale); start += rosterBatch {
		end := min(start+rosterBatch, len(stale))
		if err := tx.Exec("DELETE FROM guardians WHERE id IN ?", stale[start:end]).Error; err != nil {
			return res, err
		}
	}
	err = insertRows(tx, "INSERT INTO guardians (student_id, name, phone, relationship) VALUES", guardianRows,
		"ON CONFLICT (student_id, phone) DO UPDATE SET name = excluded.name, relationship = excluded.relationship")
	if err != nil {
		return res, err
	}
	if err := checkGuardianCap(tx, guardianCap, schoolID, students); err != nil {
		return res, err
	}
	// Waivers: the file's, through the audited write PATCH /students/{id}
	// uses (one row of waiver_changes per change, source roster). An order
	// already made keeps its bill: a waiver is read when an order is made.
	for _, s := range students {
		if s.Waiver == nil {
			continue
		}
		if h, ok := before[s.StudentNo]; ok && h.waiver == *s.Waiver {
			continue // as stored: no round trip while the writer is held
		}
		if err := setWaiverTx(tx, by, schoolID, after[s.StudentNo], s.Waiver.Waiver, s.Waiver.Reason, WaiverSourceRoster, now); err != nil {
			return res, err
		}
		if _, ok := before[s.StudentNo]; ok || s.Waiver.Waiver != WaiverNone {
			res.Waivers++ // a new student without a waiver changes nothing
		}
	}
	return res, linkKnownParents(tx, guardianCap, students, after)
}

// rosterStudentState is a student of the school as stored, with its
// guardians, to tell whether a file changes it.
type rosterStudentState struct {
	name, gender, class string
	grade               int
	active              bool
	guardians           map[string]RosterGuardian // by phone
	waiver              RosterWaiver
}

func (h rosterStudentState) same(s RosterStudent) bool {
	if !h.active || h.name != s.Name || h.gender != s.Gender || h.grade != s.Grade || h.class != s.Class ||
		len(h.guardians) != len(s.Guardians) || (s.Waiver != nil && *s.Waiver != h.waiver) {
		return false
	}
	for _, g := range s.Guardians {
		if h.guardians[g.Phone] != g {
			return false
		}
	}
	return true
}

// rosterState reads every student of schoolID with its guardians, by
// student_no.
func rosterState(tx *gorm.DB, schoolID int64) (map[string]*rosterStudentState, error) {
	var ss []struct {
		ID                                 int64
		StudentNo, Name, Gender, ClassName string
		Grade                              int
		Active                             bool
		FeeWaiver, WaiverReason            string
	}
	if err := tx.Raw(`SELECT id, student_no, name, gender, grade, class_name, active, fee_waiver, waiver_reason FROM students
		WHERE school_id = ?`, schoolID).Scan(&ss).Error; err != nil {
		return nil, err
	}
	byID := make(map[int64]*rosterStudentState, len(ss))
	out := make(map[string]*rosterStudentState, len(ss))
	for _, s := range ss {
		h := &rosterStudentState{name: s.Name, gender: s.Gender, class: s.ClassName, grade: s.Grade, active: s.Active,
			guardians: map[string]RosterGuardian{}, waiver: RosterWaiver{Waiver: s.FeeWaiver, Reason: s.WaiverReason}}
		byID[s.ID], out[s.StudentNo] = h, h
	}
	var gs []struct {
		StudentID                 int64
		Name, Phone, Relationship string
	}
	if err := tx.Raw(`SELECT g.student_id, g.name, g.phone, g.relationship FROM guardians g
		JOIN students s ON s.id = g.student_id WHERE s.school_id = ?`, schoolID).Scan(&gs).Error; err != nil {
		return nil, err
	}
	for _, g := range gs {
		if h := byID[g.StudentID]; h != nil {
			h.guardians[g.Phone] = RosterGuardian{Name: g.Name, Phone: g.Phone, Relationship: g.Relationship}
		}
	}
	return out, nil
}

// studentIDs maps the student_no of every student of schoolID to its id.
func studentIDs(tx *gorm.DB, schoolID int64) (map[string]int64, error) {
	var rows []struct {
		ID        int64
		StudentNo string
	}
	if err := tx.Raw("SELECT id, student_no FROM students WHERE school_id = ?", schoolID).Scan(&rows).Error; err != nil {
		return nil, err
	}
	m := make(map[string]int64, len(rows))
	for _, r := range rows {
		m[r.StudentNo] = r.ID
	}
	return m, nil
}

// insertRows runs head + "(?, …), (?, …)" + tail for rows, rosterBatch rows
// per statement: one round trip per batch instead of one per row.
func insertRows(tx *gorm.DB, head string, rows [][]any, tail string) error {
	if len(rows) == 0 {
		return nil
	}
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(rows[0])), ", ") + ")"
	for start := 0; start < len(rows); start += rosterBatch {
		batch := rows[start:min(start+rosterBatch, len(rows))]
		var sb strings.Builder
		sb.WriteString(head)
		args := make([]any, 0, len(batch)*len(rows[0]))
		for i, r := range batch {
			if i > 0 {
				sb.WriteString(",")
			}
			sb.WriteString(tuple)
			args = append(args, r...)
		}
		sb.WriteString(" ")
		sb.WriteString(tail)
		if err := tx.Exec(sb.String(), args...).Error; err != nil {
			return err
		}
	}
	return nil
}
