package models

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Errors of the parent journey.
var (
	ErrAccountDisabled = E(KindForbidden, "account_disabled", "账号已停用")
	ErrNotParent       = E(KindForbidden, "not_parent", "该微信账号不是家长账号")
)

// WeChatIdentity is who WeChat says a mini-program user is (from
// jscode2session). The session key is deliberately not part of it: kehou
// never stores it.
type WeChatIdentity struct {
	OpenID  string
	UnionID string
}

// LoginWeChat finds the parent user of id.OpenID, creating it on the first
// login, and records a new or changed unionid.
func LoginWeChat(ctx context.Context, db *DB, id WeChatIdentity) (User, error) {
	if id.OpenID == "" || len(id.OpenID) > 128 || len(id.UnionID) > 128 {
		return User{}, ErrUnavailable.WithMessage("微信返回的用户标识无效")
	}
	var u User
	login := func() error {
		return db.Tx(ctx, func(tx *gorm.DB) error {
			err := tx.Where("openid = ?", id.OpenID).First(&u).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				openid := id.OpenID
				u = User{Role: RoleParent, OpenID: &openid, DisplayName: "家长"}
				if id.UnionID != "" {
					unionid := id.UnionID
					u.UnionID = &unionid
				}
				return tx.Create(&u).Error
			}
			if err != nil {
				return err
			}
			if id.UnionID != "" && (u.UnionID == nil || *u.UnionID != id.UnionID) {
				unionid := id.UnionID
				u.UnionID = &unionid
				return tx.Model(&u).Updates(map[string]any{"unionid": unionid, "updated_at": time.Now().UTC()}).Error
			}
			return nil
		})
	}
	err := login()
	if isUniqueViolation(err) {
		// Two first logins of one user raced (PostgreSQL, several
		// instances); the other created the row, so this one finds it.
		err = login()
	}
	if err != nil {
		return User{}, err
	}
	switch {
	case u.Disabled:
		return User{}, ErrAccountDisabled
	case u.Role != RoleParent:
		return User{}, ErrNotParent
	}
	return u, nil
}

// BindPhone records the phone parent userID proved through WeChat and links
// every active student whose imported guardian phone matches it (siblings,
// across schools). It returns all the parent's children; a phone that
// matches nobody is not an error.
func BindPhone(ctx context.Context, db *DB, userID int64, phone string) ([]Child, error) {
	defer db.linksChanged() // after the commit: cached children are stale (cache.go)
	phone = strings.TrimSpace(phone)
	if phone == "" || len(phone) > 20 {
		return nil, ErrUnavailable.WithMessage("微信返回的手机号无效")
	}
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&User{}).Where("id = ? AND role = ?", userID, RoleParent).
			Updates(map[string]any{"phone": phone, "updated_at": time.Now().UTC()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		var ids []int64
		if err := tx.Raw(`SELECT DISTINCT g.student_id FROM guardians g JOIN students s ON s.id = g.student_id
			WHERE g.phone = ? AND s.active ORDER BY g.student_id`, phone).Scan(&ids).Error; err != nil {
			return err
		}
		for _, id := range ids {
			// The roster bounds the students one phone covers per school;
			// links made with binding codes count towards the same bound.
			full, err := tooManyChildren(tx, db.childrenCap(), userID, id)
			if err != nil {
				return err
			}
			if full {
				continue
			}
			if err := linkByPhone(tx, userID, id, phone); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return childrenAfterWrite(ctx, db, userID)
}

// childrenAfterWrite lists userID's children on the writer, so a read right
// after a commit sees it on every engine.
func childrenAfterWrite(ctx context.Context, db *DB, userID int64) ([]Child, error) {
	var out []Child
	err := db.W.WithContext(ctx).Raw(`SELECT s.*, sc.name AS school_name FROM parent_students ps
		JOIN students s ON s.id = ps.student_id JOIN schools sc ON sc.id = s.school_id
		WHERE ps.user_id = ? ORDER BY s.id`, userID).Scan(&out).Error
	return out, err
}
