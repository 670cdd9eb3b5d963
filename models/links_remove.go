package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Removing guardian links (adding them is links_add.go). A link (parent_students) goes when the school
// removes it, when the guardian unlinks the child, when a roster drops the
// phone it was proved with, or when the child's data is deleted. Each
// removal moves link_version in its transaction and retires this
// instance's children cache at once; every other instance reads
// link_version at most once per LinkPoll (syncLinks, 250 ms by default) and
// retires its cache when it moved. A read on every check cost the parents'
// offerings list a third of its throughput; a quarter-second is the bound
// for the read paths, while the enrollment write transaction re-reads the
// link itself (enroll_batch.go), so a removed link never enrolls.

// GuardianLink is one parent account linked to a student, as the school
// sees it.
type GuardianLink struct {
	UserID      int64     `gorm:"column:user_id"`
	StudentID   int64     `gorm:"column:student_id"`
	DisplayName string    `gorm:"column:display_name"`
	Via         string    `gorm:"column:via"`
	Phone       string    `gorm:"column:phone"` // the proved phone, or the account's; masked by callers
	CreatedAt   time.Time `gorm:"column:created_at"`
}

// DefaultLinkPoll is how often an instance reads link_version when
// DB.LinkPoll is zero.
const DefaultLinkPoll = 250 * time.Millisecond

// bumpLinks moves link_version inside tx: every instance retires its cached
// children at its next check.
func bumpLinks(tx *gorm.DB) error {
	return tx.Exec("UPDATE link_version SET version = version + 1 WHERE id = 1").Error
}

// syncLinks retires this process's cached children when a link was
// removed anywhere since it last looked.
func (db *DB) syncLinks(ctx context.Context) error {
	poll := db.LinkPoll
	if poll == 0 {
		poll = DefaultLinkPoll
	}
	now := db.now().UnixNano()
	last := db.linkChecked.Load()
	if now-last < int64(poll) && now >= last {
		return nil
	}
	// One request per instance and interval reads; the others go on with
	// the view it is refreshing.
	if !db.linkChecked.CompareAndSwap(last, now) {
		return nil
	}
	// Through database/sql: GORM's reflection costs more than the query.
	var v int64
	if err := rawOf(db.Read(ctx)).queryRow("SELECT version FROM link_version WHERE id = 1").Scan(&v); err != nil {
		return err
	}
	if db.linkSeen.Swap(v) != v {
		db.linksChanged()
	}
	return nil
}

// studentForSchoolAdmin loads student id for a school admin of its school
// or a platform admin; anyone else gets ErrNotFound.
func studentForSchoolAdmin(ctx context.Context, db *DB, a Actor, id int64) (Student, error) {
	st, err := FindStudentByID(ctx, db, id)
	if err != nil {
		return Student{}, err
	}
	if a.Role != RolePlatformAdmin && (a.Role != RoleSchoolAdmin || a.SchoolID != st.SchoolID) {
		return Student{}, ErrNotFound
	}
	return st, nil
}

// FindGuardianLinks lists the parent accounts linked to student id, for a
// school admin of its school (or a platform admin). Reading it is logged.
func FindGuardianLinks(ctx context.Context, db *DB, a Actor, id int64) ([]GuardianLink, error) {
	st, err := studentForSchoolAdmin(ctx, db, a, id)
	if err != nil {
		return nil, err
	}
	var out []GuardianLink
	err = db.Read(ctx).Raw(`SELECT ps.user_id, ps.student_id, u.display_name, ps.via,
		COALESCE(ps.phone, u.phone) AS phone, ps.created_at
		FROM parent_students ps JOIN users u ON u.id = ps.user_id
		WHERE ps.student_id = ? ORDER BY ps.user_id`, st.ID).Scan(&out).Error
	if err != nil {
		return nil, err
	}
	LogStaffAccess(ctx, db, a, "list_guardian_links", st.SchoolID, fmt.Sprintf("student:%d", st.ID))
	return out, nil
}

// RemoveGuardianLink removes the link of parent userID to student id, for
// a school admin of the student's school (or a platform admin). A link
// proved by phone takes the imported guardian of that phone with it, so
// proving the phone again does not restore it (a roster import that lists
// the phone again does). Another school's student, or no such link, is
// ErrNotFound.
func RemoveGuardianLink(ctx context.Context, db *DB, a Actor, id, userID int64) error {
	defer db.linksChanged()
	st, err := studentForSchoolAdmin(ctx, db, a, id)
	if err != nil {
		return err
	}
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		var link ParentStudent
		err := tx.Where("user_id = ? AND student_id = ?", userID, st.ID).First(&link).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := tx.Exec("DELETE FROM parent_students WHERE user_id = ? AND student_id = ?", userID, st.ID).Error; err != nil {
			return err
		}
		if link.Via == "phone" {
			if err := tx.Exec(`DELETE FROM guardians WHERE student_id = ? AND phone = COALESCE(?,
				(SELECT phone FROM users WHERE id = ?))`, st.ID, link.Phone, userID).Error; err != nil {
				return err
			}
		}
		return bumpLinks(tx)
	})
	if err != nil {
		return err
	}
	LogStaffAccess(ctx, db, a, "remove_guardian_link", st.SchoolID, fmt.Sprintf("student:%d user:%d", st.ID, userID))
	return nil
}

// UnlinkChild removes the link of parent a to student id: the guardian
// stops seeing the child. A child not linked to a is ErrNotFound.
func UnlinkChild(ctx context.Context, db *DB, a Actor, id int64) error {
	defer db.linksChanged()
	if a.Role != RoleParent {
		return ErrForbidden
	}
	return db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("DELETE FROM parent_students WHERE user_id = ? AND student_id = ?", a.UserID, id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return bumpLinks(tx)
	})
}

// dropPhoneLinks removes the links to studentID proved with phone (or,
// for links from before phones were recorded, of parents whose phone it
// is), moving link_version when it removed any.
func dropPhoneLinks(tx *gorm.DB, studentID int64, phone string) error {
	res := tx.Exec(`DELETE FROM parent_students WHERE via = 'phone' AND student_id = ?
		AND (phone = ? OR (phone IS NULL AND user_id IN (SELECT id FROM users WHERE phone = ?)))`,
		studentID, phone, phone)
	if res.Error != nil || res.RowsAffected == 0 {
		return res.Error
	}
	return bumpLinks(tx)
}
