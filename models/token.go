package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"

	"gorm.io/gorm"
)

// RefreshTTL is how long a refresh token lives.
var RefreshTTL = 30 * 24 * time.Hour

// RefreshToken is a stored (hashed) refresh token.
type RefreshToken struct {
	ID        int64      `gorm:"primaryKey"`
	UserID    int64      `gorm:"column:user_id"`
	Family    string     `gorm:"column:family"`
	TokenHash string     `gorm:"column:token_hash"`
	ExpiresAt time.Time  `gorm:"column:expires_at"`
	UsedAt    *time.Time `gorm:"column:used_at"`
	RevokedAt *time.Time `gorm:"column:revoked_at"`
	CreatedAt time.Time  `gorm:"column:created_at"`
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is the stored form of an opaque secret.
func HashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// IssueRefreshToken starts a new token family for userID (a fresh login) and
// returns the opaque token.
func IssueRefreshToken(ctx context.Context, db *DB, userID int64) (string, error) {
	var tok string
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		tok, err = insertRefresh(tx, userID, randomToken(16))
		return err
	})
	return tok, err
}

func insertRefresh(tx *gorm.DB, userID int64, family string) (string, error) {
	tok := randomToken(32)
	rt := RefreshToken{UserID: userID, Family: family, TokenHash: HashToken(tok),
		ExpiresAt: time.Now().UTC().Add(RefreshTTL)}
	return tok, tx.Create(&rt).Error
}

// RotateRefreshToken spends tok and returns its user and a new token of the
// same family. A token that was already spent is a replay (stolen token or a
// double submit): the whole family is revoked and ErrTokenReused returned.
func RotateRefreshToken(ctx context.Context, db *DB, tok string) (User, string, error) {
	var (
		u      User
		next   string
		replay bool
	)
	now := time.Now().UTC()
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var rt RefreshToken
		if err := tx.Where("token_hash = ?", HashToken(tok)).First(&rt).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrInvalidToken
			}
			return err
		}
		if rt.RevokedAt != nil || now.After(rt.ExpiresAt) {
			return ErrInvalidToken
		}
		// Spend it with a conditional update, so two concurrent refreshes
		// with one token cannot both win.
		res := tx.Model(&RefreshToken{}).Where("id = ? AND used_at IS NULL", rt.ID).Update("used_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			replay = true
			return tx.Model(&RefreshToken{}).Where("family = ? AND revoked_at IS NULL", rt.Family).
				Update("revoked_at", now).Error
		}
		if err := tx.First(&u, rt.UserID).Error; err != nil {
			return notFound(err)
		}
		if u.Disabled {
			return ErrInvalidToken
		}
		var err error
		next, err = insertRefresh(tx, u.ID, rt.Family)
		return err
	})
	if err != nil {
		return User{}, "", err
	}
	if replay {
		return User{}, "", ErrTokenReused
	}
	return u, next, nil
}
