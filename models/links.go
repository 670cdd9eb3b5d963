package models

import (
	"fmt"

	"gorm.io/gorm"
)

// DefaultMaxChildrenPerGuardian is how many students of one school one
// guardian phone, or one parent account, may cover by default: a large
// family, not a class — so one account cannot answer the survey for a
// whole school.
const DefaultMaxChildrenPerGuardian = 6

// childrenCap is the bound on the students of one school a guardian covers.
func (db *DB) childrenCap() int {
	if db.MaxChildrenPerGuardian > 0 {
		return db.MaxChildrenPerGuardian
	}
	return DefaultMaxChildrenPerGuardian
}

// tooManyChildren reports whether parent userID already has cap linked
// children in the school of studentID (other than studentID itself).
func tooManyChildren(tx *gorm.DB, cap int, userID, studentID int64) (bool, error) {
	var n int64
	err := tx.Raw(`SELECT COUNT(*) FROM parent_students ps JOIN students s ON s.id = ps.student_id
		WHERE ps.user_id = ? AND ps.student_id <> ?
		AND s.school_id = (SELECT school_id FROM students WHERE id = ?)`, userID, studentID, studentID).Scan(&n).Error
	return n >= int64(cap), err
}

// checkGuardianCap fails the import when a guardian phone of the file
// covers more than cap active students of schoolID once it is written
// (counting the students the file leaves as they are), naming the first
// row of the phone.
func checkGuardianCap(tx *gorm.DB, cap int, schoolID int64, students []RosterStudent) error {
	var over []struct {
		Phone string
		N     int
	}
	if err := tx.Raw(`SELECT g.phone, COUNT(DISTINCT g.student_id) AS n FROM guardians g
		JOIN students s ON s.id = g.student_id WHERE s.school_id = ? AND s.active
		GROUP BY g.phone HAVING COUNT(DISTINCT g.student_id) > ?`, schoolID, cap).Scan(&over).Error; err != nil {
		return err
	}
	if len(over) == 0 {
		return nil
	}
	var errs []RowError
	for _, o := range over {
		for _, s := range students {
			hit := false
			for _, g := range s.Guardians {
				hit = hit || g.Phone == o.Phone
			}
			if hit {
				errs = append(errs, rosterRowError(s.row, s.StudentNo, "guardian_phone", maskCell(o.Phone),
					fmt.Sprintf("该手机号将是本校%d名学生的监护人，每个手机号最多%d名", o.N, cap)))
				break
			}
		}
		if len(errs) >= maxRowErrors {
			break
		}
	}
	if len(errs) == 0 {
		return nil // over the bound before this file (a lowered bound): not this import's doing
	}
	return &ImportError{Errors: errs}
}
