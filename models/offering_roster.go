package models

import (
	"context"
	"fmt"
)

// OfferingRosterRow is one student on an offering's roster, with a guardian whose
// phone is already masked.
type OfferingRosterRow struct {
	EnrollmentID     int64            `gorm:"column:enrollment_id"`
	StudentID        int64            `gorm:"column:student_id"`
	StudentNo        string           `gorm:"column:student_no"`
	Name             string           `gorm:"column:name"`
	Grade            int              `gorm:"column:grade"`
	ClassName        string           `gorm:"column:class_name"`
	Status           EnrollmentStatus `gorm:"column:status"`
	WaitlistPosition *int             `gorm:"column:waitlist_position"`
	GuardianName     string           `gorm:"column:guardian_name"`
	GuardianPhone    string           `gorm:"column:guardian_phone"` // masked
}

// OfferingRoster lists the live enrollments of offering id for its school's
// staff (teachers and admins, or a platform admin; anyone else
// ErrNotFound): enrolled first, then the waitlist in order, then lottery
// applicants. Each student appears once, with its first imported guardian.
// The read is logged as staff access to children's data.
func OfferingRoster(ctx context.Context, db *DB, a Actor, id int64) (Offering, []OfferingRosterRow, error) {
	o, err := FindOfferingByID(ctx, db, id)
	if err != nil {
		return Offering{}, nil, err
	}
	if !a.IsSchoolStaff(o.SchoolID) && a.Role != RolePlatformAdmin {
		return Offering{}, nil, ErrNotFound
	}
	rows := []OfferingRosterRow{}
	err = db.Read(ctx).Raw(`SELECT e.id AS enrollment_id, s.id AS student_id, s.student_no, s.name, s.grade, s.class_name,
		e.status, e.waitlist_position,
		COALESCE(g.name, '') AS guardian_name, COALESCE(g.phone, '') AS guardian_phone
		FROM enrollments e JOIN students s ON s.id = e.student_id
		LEFT JOIN guardians g ON g.id = (SELECT MIN(g2.id) FROM guardians g2 WHERE g2.student_id = s.id)
		WHERE e.offering_id = ? AND e.status IN `+liveSQL+`
		ORDER BY CASE e.status WHEN `+sqlText(StatusEnrolled)+` THEN 0 WHEN `+sqlText(StatusPendingPayment)+` THEN 1
		WHEN `+sqlText(StatusWaitlisted)+` THEN 2 ELSE 3 END,
		COALESCE(e.waitlist_position, 0), s.grade, s.class_name, s.student_no`,
		id).Scan(&rows).Error
	if err != nil {
		return Offering{}, nil, err
	}
	for i := range rows {
		if rows[i].GuardianPhone != "" {
			rows[i].GuardianPhone = MaskPhone(rows[i].GuardianPhone)
		}
	}
	LogStaffAccess(ctx, db, a, "offering_roster", o.SchoolID, fmt.Sprintf("offering:%d", id))
	return o, rows, nil
}
