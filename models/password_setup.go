package models

import (
	"context"
	"errors"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// An account created by another user (an admin through the API) starts with
// must_change_password: whoever made it knows its password. Its first
// successful login answers ErrPasswordChangeRequired with a short-lived,
// single-use change token instead of access tokens, and only
// ChangePasswordWithToken — a new password, different from the one the
// creator chose — opens the account. After that the creator no longer knows
// the password, and created_by says who made the account.

// PasswordChangeTTL is how long a password change token lives.
const PasswordChangeTTL = 10 * time.Minute

// PasswordChangeRequired is the outcome of a correct login to an account
// whose password must be changed first: Token is the change token.
type PasswordChangeRequired struct {
	UserID int64
	Token  string
	TTL    time.Duration
}

func (e *PasswordChangeRequired) Error() string { return "password change required" }

// issuePasswordChangeToken stores a new change token for userID.
func issuePasswordChangeToken(ctx context.Context, db *DB, userID int64, now time.Time) (string, error) {
	tok := randomToken(32)
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Exec("INSERT INTO password_change_tokens (token_hash, user_id, expires_ms) VALUES (?, ?, ?)",
			HashToken(tok), userID, now.Add(PasswordChangeTTL).UnixMilli()).Error
	})
	return tok, err
}

// ChangePasswordWithToken spends a change token and sets the user's new
// password, which must pass the policy and differ from the current one. In
// the same transaction it retires every other change token of the user,
// bumps its token version and revokes its refresh tokens: after the owner
// has set a password, nothing issued before opens the account. It returns
// the user, ready to be issued tokens.
func ChangePasswordWithToken(ctx context.Context, db *DB, token, newPassword string) (User, error) {
	if !ValidatePassword(newPassword) {
		return User{}, &ValidationError{Fields: map[string]string{"new_password": "密码为8-72位，须同时包含字母和数字"}}
	}
	now := time.Now().UTC()
	var row struct {
		UserID    int64
		ExpiresMs int64
		UsedMs    *int64
	}
	err := db.Read(ctx).Raw("SELECT user_id, expires_ms, used_ms FROM password_change_tokens WHERE token_hash = ?",
		HashToken(token)).Scan(&row).Error
	if err != nil {
		return User{}, err
	}
	if row.UserID == 0 || row.UsedMs != nil || now.UnixMilli() >= row.ExpiresMs {
		return User{}, ErrInvalidChangeToken
	}
	u, err := FindUserByID(ctx, db, row.UserID)
	if errors.Is(err, ErrNotFound) || (err == nil && u.Disabled) {
		return User{}, ErrInvalidChangeToken
	}
	if err != nil {
		return User{}, err
	}
	if comparePassword([]byte(u.PasswordHash), newPassword) == nil {
		return User{}, &ValidationError{Fields: map[string]string{"new_password": "新密码不能与初始密码相同"}}
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(newPassword), BcryptCost)
	if err != nil {
		return User{}, err
	}
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		// The account first: two of its tokens used at once otherwise each
		// held its own token row and waited for the other's (the user's
		// tokens are all deleted below), and PostgreSQL aborted one with a
		// deadlock instead of answering it ErrInvalidChangeToken.
		if err := lockUserRow(tx, u.ID); err != nil {
			return err
		}
		// Spent by a conditional delete: two concurrent uses, one winner.
		res := tx.Exec("DELETE FROM password_change_tokens WHERE token_hash = ? AND used_ms IS NULL AND expires_ms > ?",
			HashToken(token), now.UnixMilli())
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrInvalidChangeToken
		}
		// Only an account still waiting for its owner's password may be
		// set: once it is set, every other change token of the user is
		// dead, even one issued before (the creator's own login), which
		// would otherwise take the account back. The condition is on the
		// row the update writes, so it holds against a concurrent use of
		// another token too.
		res = tx.Model(&User{}).Where("id = ? AND must_change_password = ? AND disabled = ?", u.ID, true, false).
			Updates(map[string]any{
				"password_hash": string(hash), "must_change_password": false, "password_changed_at": now, "updated_at": now,
				// Sessions from before the password was the owner's end.
				"token_version": gorm.Expr("token_version + 1"), "token_changed_ms": now.UnixMilli(),
			})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrInvalidChangeToken
		}
		if err := tx.Exec("DELETE FROM password_change_tokens WHERE user_id = ?", u.ID).Error; err != nil {
			return err
		}
		if err := tx.Model(&RefreshToken{}).Where("user_id = ? AND revoked_at IS NULL", u.ID).
			Update("revoked_at", now).Error; err != nil {
			return err
		}
		return tx.First(&u, u.ID).Error
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}
