package models

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Binding-code policy.
const (
	// BindingCodeTTL is how long a binding code can be used.
	BindingCodeTTL = 7 * 24 * time.Hour
	// BindingMaxFailures failed bindings within BindingWindow lock a parent
	// out of binding until the oldest of them leaves the window.
	BindingMaxFailures = 5
	// BindingWindow is the window of BindingMaxFailures.
	BindingWindow = 15 * time.Minute
	// bindingCodeLen characters of a 31-letter alphabet: 39.6 bits, beyond
	// guessing at 5 attempts per 15 minutes.
	bindingCodeLen = 8
)

// bindingAlphabet leaves out 0/O and 1/I/L, which are misread on paper.
const bindingAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// ErrBindingFailed is the one answer to a binding with any wrong part
// (school, student number, name, code, or a code used or expired), so a
// caller learns nothing about which part was wrong.
var ErrBindingFailed = E(KindInvalid, "binding_failed", "绑定信息不正确，请核对学校、学号、学生姓名和绑定码")

// ErrBindingLocked is returned after too many failed bindings.
var ErrBindingLocked = E(KindRateLimited, "binding_rate_limited", "绑定失败次数过多，请稍后再试")

// BindingCode is a freshly issued binding code; Code is shown once and only
// its hash is stored.
type BindingCode struct {
	ID        int64
	StudentID int64
	Code      string
	ExpiresAt time.Time
}

type bindingCodeRow struct {
	ID        int64      `gorm:"primaryKey"`
	StudentID int64      `gorm:"column:student_id"`
	SchoolID  int64      `gorm:"column:school_id"`
	CodeHash  string     `gorm:"column:code_hash"`
	CreatedBy int64      `gorm:"column:created_by"`
	ExpiresAt time.Time  `gorm:"column:expires_at"`
	UsedAt    *time.Time `gorm:"column:used_at"`
	UsedBy    *int64     `gorm:"column:used_by"`
	CreatedAt time.Time  `gorm:"column:created_at"`
}

func (bindingCodeRow) TableName() string { return "binding_codes" }

// bindingHash salts the code with its student, so equal codes of two
// students never share a hash.
func bindingHash(studentID int64, code string) string {
	return HashToken(fmt.Sprintf("binding:%d:%s", studentID, code))
}

// normalizeBindingCode accepts what a parent types: any case, spaces and
// dashes.
func normalizeBindingCode(s string) string {
	s = strings.ToUpper(s)
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s)
}

func newBindingCode() string { return bindingCodeFrom(rand.Reader) }

// bindingCodeFrom draws a code from random bytes by rejection sampling:
// a byte at or above the largest multiple of the alphabet's length is
// drawn again, so every letter is equally likely (a plain modulo favours
// the first 256 mod 31 = 8 letters).
func bindingCodeFrom(r io.Reader) string {
	const n = len(bindingAlphabet)
	const limit = 256 - 256%n
	out := make([]byte, 0, bindingCodeLen)
	buf := make([]byte, 2*bindingCodeLen)
	for len(out) < bindingCodeLen {
		if _, err := io.ReadFull(r, buf); err != nil {
			panic(err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < bindingCodeLen {
				out = append(out, bindingAlphabet[int(b)%n])
			}
		}
	}
	return string(out)
}

// IssueBindingCode issues a one-time binding code for studentID, retiring
// the codes issued for the student before. Only a
// school admin of the student's school may; for anyone else the student does
// not exist (ErrNotFound).
func IssueBindingCode(ctx context.Context, db *DB, a Actor, studentID int64, now time.Time) (BindingCode, error) {
	st, err := FindStudentByID(ctx, db, studentID)
	if err != nil {
		return BindingCode{}, err
	}
	if a.Role != RoleSchoolAdmin || a.SchoolID != st.SchoolID {
		return BindingCode{}, ErrNotFound
	}
	now = now.UTC()
	code := newBindingCode()
	row := bindingCodeRow{StudentID: st.ID, SchoolID: st.SchoolID, CodeHash: bindingHash(st.ID, code),
		CreatedBy: a.UserID, ExpiresAt: now.Add(BindingCodeTTL), CreatedAt: now}
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		// A new code retires the student's codes not yet used: the one
		// the school handed out before (lost, or given to the wrong
		// family) must stop working now.
		if err := tx.Model(&bindingCodeRow{}).Where("student_id = ? AND used_at IS NULL AND expires_at > ?", st.ID, now).
			Update("expires_at", now).Error; err != nil {
			return err
		}
		return tx.Create(&row).Error
	})
	if err != nil {
		return BindingCode{}, err
	}
	LogStaffAccess(ctx, db, a, "issue_binding_code", st.SchoolID, fmt.Sprintf("student:%d", st.ID))
	return BindingCode{ID: row.ID, StudentID: st.ID, Code: code, ExpiresAt: row.ExpiresAt}, nil
}

// ChildBinding is the input of BindChild.
type ChildBinding struct {
	SchoolID  int64
	StudentNo string
	Name      string
	Code      string
}

// Validate checks the shape of a binding request.
func (in ChildBinding) Validate() error {
	var v Validator
	v.Check(in.SchoolID > 0, "school_id", "学校必填")
	v.Check(strings.TrimSpace(in.StudentNo) != "" && len(in.StudentNo) <= 64, "student_no", "学号必填，最多64个字符")
	v.Check(ValidName(strings.TrimSpace(in.Name), 64), "name", "学生姓名必填，最多64个字符，不含控制字符、零宽字符或文字方向控制符")
	v.Check(strings.TrimSpace(in.Code) != "" && len(in.Code) <= 32, "binding_code", "绑定码必填")
	return v.Err()
}

// BindChild links parent a to the student named by school, student number
// and name, spending a binding code issued for that student. Any wrong part
// gives ErrBindingFailed and counts as a failure; after BindingMaxFailures
// failures within BindingWindow the parent gets ErrBindingLocked (with
// RetryAfter) until the oldest failure leaves the window. Failures are
// stored, so the limit holds across instances.
func BindChild(ctx context.Context, db *DB, a Actor, in ChildBinding, now time.Time) (Child, error) {
	defer db.linksChanged() // after the commit: cached children are stale (cache.go)
	if a.Role != RoleParent {
		return Child{}, ErrForbidden
	}
	if err := in.Validate(); err != nil {
		return Child{}, err
	}
	now = now.UTC()
	var (
		studentID  int64
		failed     bool
		retryAfter int
	)
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		// Serialise one parent's attempts, so parallel guesses cannot all
		// slip under the limit.
		if err := lockUserRow(tx, a.UserID); err != nil {
			return err
		}
		// Failures that left the window are of no further use.
		if err := tx.Exec("DELETE FROM binding_failures WHERE user_id = ? AND created_at <= ?",
			a.UserID, now.Add(-BindingWindow)).Error; err != nil {
			return err
		}
		var recent []time.Time
		if err := tx.Raw(`SELECT created_at FROM binding_failures WHERE user_id = ? AND created_at > ?
			ORDER BY created_at DESC LIMIT ?`, a.UserID, now.Add(-BindingWindow), BindingMaxFailures).
			Scan(&recent).Error; err != nil {
			return err
		}
		if len(recent) >= BindingMaxFailures {
			oldest := recent[len(recent)-1]
			retryAfter = int(math.Ceil(oldest.Add(BindingWindow).Sub(now).Seconds()))
			return ErrBindingLocked
		}
		id, err := spendBindingCode(tx, a.UserID, in, now)
		if errors.Is(err, ErrBindingFailed) {
			failed = true
			return tx.Exec("INSERT INTO binding_failures (user_id, created_at) VALUES (?, ?)", a.UserID, now).Error
		}
		if err != nil {
			return err
		}
		studentID = id
		full, err := tooManyChildren(tx, db.childrenCap(), a.UserID, id)
		if err != nil {
			return err
		}
		if full {
			return ErrTooManyChildren
		}
		return LinkParent(tx, a.UserID, id, "code")
	})
	switch {
	case errors.Is(err, ErrBindingLocked):
		e := *ErrBindingLocked
		e.RetryAfter = max(retryAfter, 1)
		return Child{}, &e
	case err != nil:
		return Child{}, err
	case failed:
		return Child{}, ErrBindingFailed
	}
	kids, err := childrenAfterWrite(ctx, db, a.UserID)
	if err != nil {
		return Child{}, err
	}
	for _, k := range kids {
		if k.ID == studentID {
			return k, nil
		}
	}
	return Child{}, ErrNotFound
}

// spendBindingCode finds the student and marks the code used, or returns
// ErrBindingFailed whatever was wrong.
func spendBindingCode(tx *gorm.DB, userID int64, in ChildBinding, now time.Time) (int64, error) {
	var st Student
	err := tx.Where("school_id = ? AND student_no = ?", in.SchoolID, strings.TrimSpace(in.StudentNo)).First(&st).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, ErrBindingFailed
	}
	if err != nil {
		return 0, err
	}
	if !st.Active || !SameName(st.Name, in.Name) { // 王　芳 on the roster is the parent's 王芳
		return 0, ErrBindingFailed
	}
	// The conditional update spends the code exactly once, even when two
	// parents race with it.
	res := tx.Model(&bindingCodeRow{}).
		Where("student_id = ? AND code_hash = ? AND used_at IS NULL AND expires_at > ?",
			st.ID, bindingHash(st.ID, normalizeBindingCode(in.Code)), now).
		Updates(map[string]any{"used_at": now, "used_by": userID})
	if res.Error != nil {
		return 0, res.Error
	}
	if res.RowsAffected != 1 {
		return 0, ErrBindingFailed
	}
	return st.ID, nil
}
