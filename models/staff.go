package models

import "context"

// MaxStaffPage bounds the staff list of one school: more than any school
// employs.
const MaxStaffPage = 2000

// FindSchoolStaff lists the teachers and school admins of schoolID (its
// school admin, or a platform admin), disabled ones included, ordered by
// role then display name: the console's staff page and the picker of the
// teacher who takes an offering's roll.
func FindSchoolStaff(ctx context.Context, db *DB, a Actor, schoolID int64) ([]User, error) {
	if err := requireManage(ctx, db, a, schoolID); err != nil {
		return nil, err
	}
	out := []User{}
	err := db.Read(ctx).Where("school_id = ? AND role IN ?", schoolID, []Role{RoleTeacher, RoleSchoolAdmin}).
		Order("role DESC, display_name, id").Limit(MaxStaffPage).Find(&out).Error
	return out, err
}
