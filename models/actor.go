package models

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// Role is what a user is to kehou.
type Role string

// The roles of SPEC.md.
const (
	RoleParent        Role = "parent"
	RoleTeacher       Role = "teacher"
	RoleSchoolAdmin   Role = "school_admin"
	RoleBureauAdmin   Role = "bureau_admin"
	RolePlatformAdmin Role = "platform_admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleParent, RoleTeacher, RoleSchoolAdmin, RoleBureauAdmin, RolePlatformAdmin:
		return true
	}
	return false
}

// Actor is who is calling: taken from the access token by the edge and passed
// to every operation that checks scope.
type Actor struct {
	UserID   int64
	Role     Role
	SchoolID int64 // school_admin, teacher
	RegionID int64 // bureau_admin
	// TokenVersion is the user's token_version when the access token was
	// signed (see user_admin.go): a token older than the user's current
	// version is revoked.
	TokenVersion int64
}

// IsStaff reports whether a is school, bureau or platform staff.
func (a Actor) IsStaff() bool { return a.Role != RoleParent && a.Role != "" }

// IsSchoolStaff reports whether a is a teacher or school admin of schoolID.
func (a Actor) IsSchoolStaff(schoolID int64) bool {
	return (a.Role == RoleSchoolAdmin || a.Role == RoleTeacher) && a.SchoolID == schoolID
}

// CanManageSchool reports whether a administers schoolID (its school admin, or
// a platform admin).
func (a Actor) CanManageSchool(schoolID int64) bool {
	return a.Role == RolePlatformAdmin || (a.Role == RoleSchoolAdmin && a.SchoolID == schoolID)
}

// RegionPath returns the materialised path ("/1/5/") of region id, cached
// on db for good: a region's path never changes after creation (regions
// are not re-parented).
func RegionPath(ctx context.Context, db *DB, id int64) (string, error) {
	if p, ok := db.cache.regionPaths.Load(id); ok {
		return p.(string), nil
	}
	var path string
	if err := db.Read(ctx).Raw("SELECT path FROM regions WHERE id = ?", id).Row().Scan(&path); err != nil {
		return "", notFound(translateNoRows(err))
	}
	db.cache.regionPaths.Store(id, path)
	return path, nil
}

// RegionInScope reports whether region id lies in a's scope (a bureau admin's
// subtree, or anything for a platform admin).
func RegionInScope(ctx context.Context, db *DB, a Actor, id int64) (bool, error) {
	switch a.Role {
	case RolePlatformAdmin:
		return true, nil
	case RoleBureauAdmin:
		mine, err := RegionPath(ctx, db, a.RegionID)
		if err != nil {
			return false, err
		}
		theirs, err := RegionPath(ctx, db, id)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return strings.HasPrefix(theirs, mine), nil
	}
	return false, nil
}

// SchoolInScope reports whether staff actor a may see school (platform: all;
// bureau: schools in its subtree; school staff: their own school). Parents are
// never in a school's staff scope.
func SchoolInScope(ctx context.Context, db *DB, a Actor, s School) (bool, error) {
	switch a.Role {
	case RolePlatformAdmin:
		return true, nil
	case RoleBureauAdmin:
		return RegionInScope(ctx, db, a, s.RegionID)
	case RoleSchoolAdmin, RoleTeacher:
		return a.SchoolID == s.ID, nil
	}
	return false, nil
}

// FindSchoolInScope loads school id if a may see it as staff, else ErrNotFound.
func FindSchoolInScope(ctx context.Context, db *DB, a Actor, id int64) (School, error) {
	s, err := FindSchoolByID(ctx, db, id)
	if err != nil {
		return School{}, err
	}
	ok, err := SchoolInScope(ctx, db, a, s)
	if err != nil {
		return School{}, err
	}
	if !ok {
		return School{}, ErrNotFound
	}
	return s, nil
}

// regionSubtreePattern is a LIKE pattern matching the paths of region id's
// subtree.
func regionSubtreePattern(path string) string { return path + "%" }

func pathFor(parentPath string, id int64) string {
	if parentPath == "" {
		parentPath = "/"
	}
	return parentPath + strconv.FormatInt(id, 10) + "/"
}

// ParentOf reports whether parent user userID is linked to studentID.
func ParentOf(ctx context.Context, tx *gorm.DB, userID, studentID int64) (bool, error) {
	var n int64
	err := tx.WithContext(ctx).Raw("SELECT COUNT(*) FROM parent_students WHERE user_id = ? AND student_id = ?", userID, studentID).Scan(&n).Error
	return n > 0, err
}

// ParentHasChildInSchool reports whether parent userID has a linked child in
// schoolID: from the cached children (cache.go) unless a link was removed
// since (links_remove.go), else from the database.
func ParentHasChildInSchool(ctx context.Context, db *DB, userID, schoolID int64) (bool, error) {
	if err := db.syncLinks(ctx); err != nil {
		return false, err
	}
	_, ok, err := db.linkedChild(ctx, userID, func(s Student) bool { return s.SchoolID == schoolID })
	return ok, err
}

// FindStudentFor loads student id if a may act on it: a linked guardian, the
// student's school staff, or a platform admin. Anyone else gets ErrNotFound,
// so ids of other tenants' children reveal nothing.
func FindStudentFor(ctx context.Context, db *DB, a Actor, id int64) (Student, error) {
	st, err := FindStudentByID(ctx, db, id)
	if err != nil {
		return Student{}, err
	}
	switch {
	case a.Role == RolePlatformAdmin, a.IsSchoolStaff(st.SchoolID):
		return st, nil
	case a.Role == RoleParent:
		ok, err := ParentOf(ctx, db.R, a.UserID, id)
		if err != nil {
			return Student{}, err
		}
		if ok {
			return st, nil
		}
	}
	return Student{}, ErrNotFound
}
