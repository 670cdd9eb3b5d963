package models

import "context"

// FindRegionByCode loads the region with code, or ErrNotFound.
func FindRegionByCode(ctx context.Context, db *DB, code string) (Region, error) {
	var r Region
	err := db.Read(ctx).Where("code = ?", code).First(&r).Error
	return r, notFound(err)
}

// FindSchoolByCode loads the school with code, or ErrNotFound.
func FindSchoolByCode(ctx context.Context, db *DB, code string) (School, error) {
	var s School
	err := db.Read(ctx).Where("code = ?", code).First(&s).Error
	return s, notFound(err)
}

// FindUserByUsername loads the staff user named username, or ErrNotFound.
func FindUserByUsername(ctx context.Context, db *DB, username string) (User, error) {
	var u User
	err := db.Read(ctx).Where("username = ?", username).First(&u).Error
	return u, notFound(err)
}
