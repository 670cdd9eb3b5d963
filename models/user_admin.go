package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// UpdateUser is the input of PatchUser; nil fields are left as they are.
// SchoolID and RegionID place the user after a role change or move it; a
// role change that needs a placement keeps the current one when it fits.
type UpdateUser struct {
	Disabled *bool
	Role     *Role
	SchoolID *int64
	RegionID *int64
}

// PatchUser disables or re-enables a user, changes its role or moves it to
// another school or region. a must have the user in scope as it is (else
// ErrNotFound) and as it will be (the rules of CreateUser). A parent may
// only be disabled or enabled, by a platform admin. Disabling, demoting or
// moving bumps the user's token version, so its access tokens stop within
// seconds on every instance (token revocation poll); disabling also revokes
// its refresh tokens.
func PatchUser(ctx context.Context, db *DB, a Actor, id int64, in UpdateUser) (User, error) {
	if id == a.UserID {
		return User{}, ErrModifySelf
	}
	cur, err := FindUserByID(ctx, db, id)
	if err != nil {
		return User{}, err
	}
	if cur.Role == RoleParent {
		if a.Role != RolePlatformAdmin {
			return User{}, ErrNotFound
		}
		var v Validator
		v.Check(in.Role == nil, "role", "家长账号的角色不能修改")
		v.Check(in.SchoolID == nil, "school_id", "家长账号不属于学校")
		v.Check(in.RegionID == nil, "region_id", "家长账号不属于行政区")
		if err := v.Err(); err != nil {
			return User{}, err
		}
	} else {
		if err := checkCreateScope(ctx, db, a, placementOf(cur)); err != nil {
			// Not the caller's user: as if it did not exist.
			return User{}, ErrNotFound
		}
	}
	next := cur
	if in.Disabled != nil {
		next.Disabled = *in.Disabled
	}
	if cur.Role != RoleParent && (in.Role != nil || in.SchoolID != nil || in.RegionID != nil) {
		p, err := nextPlacement(cur, in)
		if err != nil {
			return User{}, err
		}
		if err := checkCreateScope(ctx, db, a, p); err != nil {
			return User{}, err
		}
		next.Role, next.SchoolID, next.RegionID = p.Role, p.SchoolID, p.RegionID
	}
	disabling := next.Disabled && !cur.Disabled
	moved := next.Role != cur.Role || !sameID(next.SchoolID, cur.SchoolID) || !sameID(next.RegionID, cur.RegionID)
	now := time.Now().UTC()
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		set := map[string]any{"disabled": next.Disabled, "role": next.Role, "school_id": next.SchoolID,
			"region_id": next.RegionID, "updated_at": now}
		if disabling || moved {
			set["token_version"] = gorm.Expr("token_version + 1")
			set["token_changed_ms"] = now.UnixMilli()
		}
		if err := tx.Model(&User{}).Where("id = ?", id).Updates(set).Error; err != nil {
			return err
		}
		if disabling {
			if err := revokeUserRefreshTokens(tx, id, now); err != nil {
				return err
			}
		}
		return tx.First(&next, id).Error
	})
	return next, err
}

// placementOf is u's role and placement as a NewUser, for the scope rules.
func placementOf(u User) NewUser {
	return NewUser{Role: u.Role, SchoolID: u.SchoolID, RegionID: u.RegionID}
}

// nextPlacement is the role and placement cur has after in.
func nextPlacement(cur User, in UpdateUser) (NewUser, error) {
	p := placementOf(cur)
	if in.Role != nil {
		p.Role = *in.Role
	}
	var v Validator
	v.Check(p.Role.Valid() && p.Role != RoleParent, "role", "角色须为 teacher、school_admin、bureau_admin 或 platform_admin")
	switch p.Role {
	case RoleTeacher, RoleSchoolAdmin:
		v.Check(in.RegionID == nil, "region_id", "学校用户不属于行政区")
		if in.SchoolID != nil {
			p.SchoolID = in.SchoolID
		}
		p.RegionID = nil
		v.Check(p.SchoolID != nil && *p.SchoolID > 0, "school_id", "学校用户须指定学校")
	case RoleBureauAdmin:
		v.Check(in.SchoolID == nil, "school_id", "教育局用户不属于学校")
		if in.RegionID != nil {
			p.RegionID = in.RegionID
		}
		p.SchoolID = nil
		v.Check(p.RegionID != nil && *p.RegionID > 0, "region_id", "教育局用户须指定行政区")
	case RolePlatformAdmin:
		v.Check(in.SchoolID == nil, "school_id", "平台管理员不属于学校")
		v.Check(in.RegionID == nil, "region_id", "平台管理员不属于行政区")
		p.SchoolID, p.RegionID = nil, nil
	}
	return p, v.Err()
}

func sameID(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// revokeUserRefreshTokens revokes every live refresh token of userID.
func revokeUserRefreshTokens(tx *gorm.DB, userID int64, now time.Time) error {
	return tx.Model(&RefreshToken{}).Where("user_id = ? AND revoked_at IS NULL", userID).Update("revoked_at", now).Error
}

// Logout revokes the refresh-token family of tok (that login, on that
// device); with all, every refresh token of its user and, by bumping the
// token version, every access token too (logged out everywhere). An
// unknown or already revoked token is not an error: logging out twice
// answers the same.
func Logout(ctx context.Context, db *DB, tok string, all bool) error {
	now := time.Now().UTC()
	return db.Tx(ctx, func(tx *gorm.DB) error {
		var rt RefreshToken
		err := tx.Where("token_hash = ?", HashToken(tok)).First(&rt).Error
		if err == gorm.ErrRecordNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if !all {
			return tx.Model(&RefreshToken{}).Where("family = ? AND revoked_at IS NULL", rt.Family).Update("revoked_at", now).Error
		}
		if err := revokeUserRefreshTokens(tx, rt.UserID, now); err != nil {
			return err
		}
		return tx.Model(&User{}).Where("id = ?", rt.UserID).Updates(map[string]any{
			"token_version": gorm.Expr("token_version + 1"), "token_changed_ms": now.UnixMilli()}).Error
	})
}

// RecentTokenVersions returns the token version of every user whose
// tokens were revoked at or after since: the only users whose older access
// tokens may still be unexpired.
func RecentTokenVersions(ctx context.Context, db *DB, since time.Time) (map[int64]int64, error) {
	var rows []struct {
		ID           int64
		TokenVersion int64
	}
	err := db.Read(ctx).Raw("SELECT id, token_version FROM users WHERE token_changed_ms >= ?", since.UnixMilli()).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make(map[int64]int64, len(rows))
	for _, r := range rows {
		out[r.ID] = r.TokenVersion
	}
	return out, nil
}
