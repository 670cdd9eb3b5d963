package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// BcryptCost is the bcrypt work factor for staff passwords. Tests lower it.
var BcryptCost = 11

// dummyHash is compared against when a username does not exist, so a login
// for an unknown user costs the same time as one with a wrong password. It
// is made on first use with BcryptCost (not a fixed cost), so both paths
// really do cost the same.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("kehou-dummy-password"), BcryptCost)
	return h
})

// User is anyone who signs in: staff with a username and password, parents
// with WeChat (OpenID).
type User struct {
	ID           int64   `gorm:"primaryKey"`
	Role         Role    `gorm:"column:role"`
	Username     *string `gorm:"column:username"`
	PasswordHash string  `gorm:"column:password_hash"`
	DisplayName  string  `gorm:"column:display_name"`
	SchoolID     *int64  `gorm:"column:school_id"`
	RegionID     *int64  `gorm:"column:region_id"`
	OpenID       *string `gorm:"column:openid"`
	UnionID      *string `gorm:"column:unionid"`
	Phone        string  `gorm:"column:phone"`
	Disabled     bool    `gorm:"column:disabled"`
	// TokenVersion is bumped whenever the user's access tokens must stop
	// working (disabled, demoted, moved, logged out everywhere).
	TokenVersion int64 `gorm:"column:token_version"`
	// CreatedBy is the user who made this account (nil: the shell or WeChat).
	CreatedBy *int64 `gorm:"column:created_by"`
	// MustChangePassword is set on accounts made by another user until
	// their owner sets a password of their own (password_setup.go).
	MustChangePassword bool       `gorm:"column:must_change_password"`
	PasswordChangedAt  *time.Time `gorm:"column:password_changed_at"`
	CreatedAt          time.Time  `gorm:"column:created_at"`
	UpdatedAt          time.Time  `gorm:"column:updated_at"`
}

// Actor returns the user as an Actor.
func (u User) Actor() Actor {
	a := Actor{UserID: u.ID, Role: u.Role, TokenVersion: u.TokenVersion}
	if u.SchoolID != nil {
		a.SchoolID = *u.SchoolID
	}
	if u.RegionID != nil {
		a.RegionID = *u.RegionID
	}
	return a
}

// NewUser is the input of CreateUser (staff accounts).
type NewUser struct {
	Username string
	Password string
	Role     Role
	SchoolID *int64
	RegionID *int64
	// DisplayName is the name people read (the roll's audit trail, the
	// staff list): "王芳老师"; the username when empty.
	DisplayName string
	// PasswordHash, when set, is HashPassword(Password) made already: a
	// seed making several accounts with one password hashes it once
	// (bcrypt costs a tenth of a second). Handlers never set it.
	PasswordHash string
}

// HashPassword is the bcrypt hash of a staff password, at BcryptCost.
func HashPassword(p string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(p), BcryptCost)
	return string(h), err
}

// MaxDisplayNameLen bounds a staff member's display name, in characters.
const MaxDisplayNameLen = 32

// ValidatePassword checks the staff password policy.
func ValidatePassword(p string) bool {
	if len(p) < 8 || len(p) > 72 { // bcrypt reads at most 72 bytes
		return false
	}
	var letter, digit bool
	for _, r := range p {
		switch {
		case r >= '0' && r <= '9':
			digit = true
		case (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'):
			letter = true
		}
	}
	return letter && digit
}

func validUsername(u string) bool {
	if len(u) < 3 || len(u) > 32 {
		return false
	}
	for _, r := range u {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// CreateUser creates a staff account. a may not create a user above its own
// scope: a platform admin creates anyone; a bureau admin creates bureau
// admins in its subtree and staff of schools in it; a school admin creates
// staff of its school. Parents come only from WeChat login.
func CreateUser(ctx context.Context, db *DB, a Actor, in NewUser) (User, error) {
	var v Validator
	in.Username = strings.TrimSpace(in.Username)
	v.Check(validUsername(in.Username), "username", "用户名为3-32位字母、数字、下划线、点或连字符")
	in.DisplayName = strings.TrimSpace(in.DisplayName)
	v.Check(len([]rune(in.DisplayName)) <= MaxDisplayNameLen, "display_name", fmt.Sprintf("姓名最多%d个字", MaxDisplayNameLen))
	v.Check(ValidatePassword(in.Password), "password", "密码为8-72位，须同时包含字母和数字")
	v.Check(in.Role.Valid() && in.Role != RoleParent, "role", "角色须为 teacher、school_admin、bureau_admin 或 platform_admin")
	switch in.Role {
	case RoleTeacher, RoleSchoolAdmin:
		v.Check(in.SchoolID != nil && *in.SchoolID > 0, "school_id", "学校用户须指定学校")
		v.Check(in.RegionID == nil, "region_id", "学校用户不属于行政区")
	case RoleBureauAdmin:
		v.Check(in.RegionID != nil && *in.RegionID > 0, "region_id", "教育局用户须指定行政区")
		v.Check(in.SchoolID == nil, "school_id", "教育局用户不属于学校")
	case RolePlatformAdmin:
		v.Check(in.SchoolID == nil, "school_id", "平台管理员不属于学校")
		v.Check(in.RegionID == nil, "region_id", "平台管理员不属于行政区")
	}
	if err := v.Err(); err != nil {
		return User{}, err
	}
	if err := checkCreateScope(ctx, db, a, in); err != nil {
		return User{}, err
	}
	hash := in.PasswordHash
	if hash == "" {
		var err error
		if hash, err = HashPassword(in.Password); err != nil {
			return User{}, err
		}
	}
	if in.DisplayName == "" {
		in.DisplayName = in.Username
	}
	u := User{Role: in.Role, Username: &in.Username, PasswordHash: hash, DisplayName: in.DisplayName,
		SchoolID: in.SchoolID, RegionID: in.RegionID}
	if a.UserID != 0 {
		// Made by another user, who knows the password: its owner sets one
		// at first login. (The shell's SystemActor is the operator making
		// their own account.)
		u.CreatedBy, u.MustChangePassword = &a.UserID, true
	}
	err := db.Tx(ctx, func(tx *gorm.DB) error { return tx.Create(&u).Error })
	if isUniqueViolation(err) {
		return User{}, ErrUsernameTaken
	}
	return u, err
}

// SystemActor is the shell's identity: `kehou user add` may create anyone.
var SystemActor = Actor{Role: RolePlatformAdmin}

func checkCreateScope(ctx context.Context, db *DB, a Actor, in NewUser) error {
	switch a.Role {
	case RolePlatformAdmin:
		if in.SchoolID != nil {
			if _, err := FindSchoolByID(ctx, db, *in.SchoolID); err != nil {
				return notInScope("school_id", err)
			}
		}
		if in.RegionID != nil {
			if _, err := FindRegionByID(ctx, db, *in.RegionID); err != nil {
				return notInScope("region_id", err)
			}
		}
		return nil
	case RoleBureauAdmin:
		switch in.Role {
		case RoleBureauAdmin:
			ok, err := RegionInScope(ctx, db, a, *in.RegionID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if !ok {
				return &ValidationError{Fields: map[string]string{"region_id": "行政区不存在"}}
			}
			return nil
		case RoleSchoolAdmin, RoleTeacher:
			_, err := FindSchoolInScope(ctx, db, a, *in.SchoolID)
			return notInScope("school_id", err)
		}
	case RoleSchoolAdmin:
		if in.Role == RoleSchoolAdmin || in.Role == RoleTeacher {
			if *in.SchoolID != a.SchoolID {
				return &ValidationError{Fields: map[string]string{"school_id": "学校不存在"}}
			}
			return nil
		}
	}
	return ErrAboveScope
}

func notInScope(field string, err error) error {
	if errors.Is(err, ErrNotFound) {
		return &ValidationError{Fields: map[string]string{field: "不存在或不在权限范围内"}}
	}
	return err
}

// Credentials are a staff login: the username and password typed, and the
// client address the request came from (the one the trusted proxies name;
// empty from the shell).
type Credentials struct {
	Username   string
	Password   string
	ClientAddr string
}

// Authenticate checks a staff login. Unknown users and wrong passwords give
// the same ErrBadCredentials, in the same time. The attempt is counted
// before any bcrypt work, per username and client address and per username
// across addresses, and an attempt past a limit gets ErrLoginLocked (see
// login_throttle.go); a success clears what it counted. A correct login to
// an account whose owner has not yet set its password answers a
// *PasswordChangeRequired instead of the user (password_setup.go).
func Authenticate(ctx context.Context, db *DB, in Credentials) (User, error) {
	now := time.Now()
	addr := LoginAddressKey(in.ClientAddr)
	if err := countLoginAttempt(ctx, db, in.Username, addr, now); err != nil {
		return User{}, err
	}
	u, err := checkPassword(ctx, db, in.Username, in.Password)
	if err != nil {
		return User{}, err
	}
	if err := clearLoginFailures(ctx, db, in.Username, addr); err != nil {
		return User{}, err
	}
	if u.MustChangePassword {
		tok, err := issuePasswordChangeToken(ctx, db, u.ID, now)
		if err != nil {
			return User{}, err
		}
		return User{}, &PasswordChangeRequired{UserID: u.ID, Token: tok, TTL: PasswordChangeTTL}
	}
	return u, nil
}

// checkPassword is the bcrypt check of Authenticate.
func checkPassword(ctx context.Context, db *DB, username, password string) (User, error) {
	var u User
	err := db.Read(ctx).Where("username = ?", username).First(&u).Error
	if err != nil {
		_ = comparePassword(dummyHash(), password)
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return User{}, ErrBadCredentials
		}
		return User{}, err
	}
	if comparePassword([]byte(u.PasswordHash), password) != nil || u.Disabled || u.Role == RoleParent {
		return User{}, ErrBadCredentials
	}
	return u, nil
}

// FindUserByID loads one user.
func FindUserByID(ctx context.Context, db *DB, id int64) (User, error) {
	var u User
	err := db.Read(ctx).First(&u, id).Error
	return u, notFound(err)
}

// MaskPhone masks a mainland mobile number as 138****5678; anything else
// shorter keeps only its last two characters.
func MaskPhone(p string) string {
	if len(p) == 11 {
		return p[:3] + "****" + p[7:]
	}
	if len(p) <= 2 {
		return strings.Repeat("*", len(p))
	}
	return strings.Repeat("*", len(p)-2) + p[len(p)-2:]
}

// ValidMobile reports whether p is a mainland China mobile number (11 digits,
// starting 1[3-9]).
func ValidMobile(p string) bool {
	if len(p) != 11 || p[0] != '1' || p[1] < '3' || p[1] > '9' {
		return false
	}
	for i := 0; i < 11; i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// nullID maps 0 (the system actor) to NULL for user references.
func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// FindUserByUsername loads the staff user named username, or ErrNotFound.
func FindUserByUsername(ctx context.Context, db *DB, username string) (User, error) {
	var u User
	err := db.Read(ctx).Where("username = ?", username).First(&u).Error
	return u, notFound(err)
}

// lockUserRow takes the account's row lock on PostgreSQL, so two requests
// about one account run in turn; SQLite's single writer serialises them
// already.
func lockUserRow(tx *gorm.DB, id int64) error {
	if dialectOf(tx) != Postgres {
		return nil
	}
	return tx.Exec("SELECT id FROM users WHERE id = ? FOR UPDATE", id).Error
}
