package models

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Student is a child on a school's roster. No national ID numbers are stored.
type Student struct {
	ID        int64     `gorm:"primaryKey"`
	SchoolID  int64     `gorm:"column:school_id"`
	ClassID   *int64    `gorm:"column:class_id"`
	StudentNo string    `gorm:"column:student_no"`
	Name      string    `gorm:"column:name"`
	Gender    string    `gorm:"column:gender"`
	Grade     int       `gorm:"column:grade"`
	ClassName string    `gorm:"column:class_name"`
	Active    bool      `gorm:"column:active"`
	CreatedAt time.Time `gorm:"column:created_at"`
	UpdatedAt time.Time `gorm:"column:updated_at"`
}

// Class is a class of one grade in a school.
type Class struct {
	ID       int64  `gorm:"primaryKey"`
	SchoolID int64  `gorm:"column:school_id"`
	Grade    int    `gorm:"column:grade"`
	Name     string `gorm:"column:name"`
}

// Guardian is a guardian of a student as imported by the school.
type Guardian struct {
	ID           int64  `gorm:"primaryKey"`
	StudentID    int64  `gorm:"column:student_id"`
	Name         string `gorm:"column:name"`
	Phone        string `gorm:"column:phone"`
	Relationship string `gorm:"column:relationship"`
}

// ParentStudent links a parent user to a child.
type ParentStudent struct {
	UserID    int64  `gorm:"column:user_id;primaryKey"`
	StudentID int64  `gorm:"column:student_id;primaryKey"`
	Via       string `gorm:"column:via"`
	// Phone is the phone a "phone" link was proved with (nil for a code).
	Phone     *string   `gorm:"column:phone"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

// FindStudentByID loads one student, with no scope check.
func FindStudentByID(ctx context.Context, db *DB, id int64) (Student, error) {
	// Scanned by hand: the staff's enrollments look every child up here
	// before they join a batch, and gorm's reflective First was most of
	// that look-up's time.
	var s Student
	err := rawOf(db.Read(ctx)).queryRow(`SELECT id, school_id, class_id, student_no, name, gender, grade, class_name,
		active, created_at, updated_at FROM students WHERE id = ?`, id).Scan(&s.ID, &s.SchoolID, &s.ClassID,
		&s.StudentNo, &s.Name, &s.Gender, &s.Grade, &s.ClassName, &s.Active, &s.CreatedAt, &s.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Student{}, ErrNotFound
	}
	return s, err
}

// LinkParent links parent userID to studentID inside tx (idempotent). via
// records how the link was proven: "phone" or "code".
func LinkParent(tx *gorm.DB, userID, studentID int64, via string) error {
	return tx.Clauses(clause.OnConflict{DoNothing: true}).
		Create(&ParentStudent{UserID: userID, StudentID: studentID, Via: via}).Error
}

// linkByPhone links parent userID to studentID inside tx as proved by
// phone, recording the phone so the link goes when a roster drops it.
func linkByPhone(tx *gorm.DB, userID, studentID int64, phone string) error {
	_, err := linkByPhoneNew(tx, userID, studentID, phone)
	return err
}

// linkByPhoneNew is linkByPhone, reporting whether the link is new.
func linkByPhoneNew(tx *gorm.DB, userID, studentID int64, phone string) (bool, error) {
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).
		Create(&ParentStudent{UserID: userID, StudentID: studentID, Via: "phone", Phone: &phone})
	return res.RowsAffected == 1, res.Error
}

// Child is a parent's view of one linked child.
type Child struct {
	Student
	SchoolName string `gorm:"column:school_name"`
}

// ChildrenOf lists the children linked to parent userID, with their school.
func ChildrenOf(ctx context.Context, db *DB, userID int64) ([]Child, error) {
	var out []Child
	err := db.Read(ctx).Raw(`SELECT s.*, sc.name AS school_name FROM parent_students ps
		JOIN students s ON s.id = ps.student_id JOIN schools sc ON sc.id = s.school_id
		WHERE ps.user_id = ? ORDER BY s.id`, userID).Scan(&out).Error
	return out, err
}

// FindStudents lists a school's students after id `after`, for its staff (or
// a platform admin); anyone else gets ErrNotFound. Reading the roster is
// recorded in the staff access log.
func FindStudents(ctx context.Context, db *DB, a Actor, schoolID, after int64, limit int) ([]Student, error) {
	if !a.IsSchoolStaff(schoolID) && a.Role != RolePlatformAdmin {
		return nil, ErrNotFound
	}
	if _, err := FindSchoolByID(ctx, db, schoolID); err != nil {
		return nil, err
	}
	var out []Student
	err := db.Read(ctx).Where("school_id = ? AND id > ?", schoolID, after).Order("id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, err
	}
	LogStaffAccess(ctx, db, a, "list_students", schoolID, "")
	return out, nil
}
