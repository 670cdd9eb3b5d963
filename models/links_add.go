package models

import (
	"fmt"
	"strconv"

	"gorm.io/gorm"
)

// Adding guardian links: a phone proved by a parent links the students
// whose guardian it is (roster import, binding), within the per-school cap.
// Removing them is links_remove.go.

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

// linkKnownParents links the students a roster import wrote to the parents
// who proved one of their guardian phones before (a sibling imported
// later), within the per-school bound, and tells each parent in the
// import's transaction. ids maps student_no to id.
func linkKnownParents(tx *gorm.DB, guardianCap int, students []RosterStudent, ids map[string]int64) error {
	byPhone := map[string][]RosterStudent{}
	var phones []string
	for _, s := range students {
		for _, g := range s.Guardians {
			if _, ok := byPhone[g.Phone]; !ok {
				phones = append(phones, g.Phone)
			}
			byPhone[g.Phone] = append(byPhone[g.Phone], s)
		}
	}
	for start := 0; start < len(phones); start += rosterBatch {
		var parents []struct {
			ID    int64
			Phone string
		}
		if err := tx.Raw(`SELECT id, phone FROM users WHERE role = ? AND NOT disabled AND phone IN ?`,
			RoleParent, phones[start:min(start+rosterBatch, len(phones))]).Scan(&parents).Error; err != nil {
			return err
		}
		for _, p := range parents {
			for _, s := range byPhone[p.Phone] {
				id := ids[s.StudentNo]
				full, err := tooManyChildren(tx, guardianCap, p.ID, id)
				if err != nil {
					return err
				}
				if full {
					continue
				}
				made, err := linkByPhoneNew(tx, p.ID, id, p.Phone)
				if err != nil {
					return err
				}
				if !made {
					continue
				}
				if err := EnqueueNotification(tx, Notification{Kind: NotifyChildLinked, UserID: p.ID, StudentID: id,
					DedupeKey: "linked:student:" + strconv.FormatInt(id, 10) + ":user:" + strconv.FormatInt(p.ID, 10),
					Payload: map[string]string{"student": s.Name, "status": "已关联", "note": childLinkedNote,
						"detail": "学校名单中的监护人手机号与您验证过的手机号一致，已为您关联" + s.Name}}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
