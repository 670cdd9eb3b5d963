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
		tok = randomToken(32)
		return insertRefresh(tx, userID, randomToken(16), tok)
	})
	return tok, err
}

// insertRefresh stores the refresh token tok of family.
func insertRefresh(tx *gorm.DB, userID int64, family, tok string) error {
	rt := RefreshToken{UserID: userID, Family: family, TokenHash: HashToken(tok),
		ExpiresAt: time.Now().UTC().Add(RefreshTTL)}
	return tx.Create(&rt).Error
}

// RefreshReplayGrace is how long a spent refresh token, presented again,
// answers the pair its rotation issued instead of counting as reused: a
// phone on 4G whose answer was lost retries with the same token and must
// not be logged out for it.
const RefreshReplayGrace = 30 * time.Second

// Rotation is what RotateRefreshToken answers: the user, the new refresh
// token and when the pair was issued. The access token is signed at
// IssuedAt, so a replay within the grace answers the very same pair.
type Rotation struct {
	User     User
	Token    string
	IssuedAt time.Time
	// Replayed: tok had been spent within RefreshReplayGrace and its
	// successor is still unused; this is that rotation's answer again.
	Replayed bool
}

// RotateRefreshToken spends tok at now and returns its user and a new token
// of the same family. A token already spent is either the retry of a
// rotation whose answer was lost — within RefreshReplayGrace of it, while
// the token it issued is still unused — which answers the same token
// again, or a replay (stolen token, or a retry too late): the whole family
// is revoked and ErrTokenReused returned.
//
// The replay needs the successor in clear, which kehou never stores: the
// spent row keeps it sealed with a key derived from tok (sealSuccessor),
// so only whoever presents tok can open it, and a copy of the database
// cannot. Only the latest rotation of a family keeps one. All of it is in
// the database, so a retry that lands on another instance replays alike.
func RotateRefreshToken(ctx context.Context, db *DB, tok string, now time.Time) (Rotation, error) {
	var (
		out    Rotation
		replay bool
	)
	// Microseconds: what PostgreSQL keeps, so a replay reads back the very
	// instant the first answer was signed at.
	now = now.UTC().Truncate(time.Microsecond)
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
		next := randomToken(32)
		// Spend it with a conditional update, so two concurrent refreshes
		// with one token cannot both rotate it.
		res := tx.Model(&RefreshToken{}).Where("id = ? AND used_at IS NULL", rt.ID).
			Updates(map[string]any{"used_at": now, "next_sealed": sealSuccessor(next, tok)})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			ok, err := replayRotation(tx, rt.ID, tok, now, &out)
			if err != nil || ok {
				return err
			}
			replay = true
			return tx.Model(&RefreshToken{}).Where("family = ? AND revoked_at IS NULL", rt.Family).
				Update("revoked_at", now).Error
		}
		// Only the latest rotation of a family may be replayed.
		if err := tx.Model(&RefreshToken{}).Where("family = ? AND id <> ? AND next_sealed IS NOT NULL", rt.Family, rt.ID).
			Update("next_sealed", nil).Error; err != nil {
			return err
		}
		if err := tx.First(&out.User, rt.UserID).Error; err != nil {
			return notFound(err)
		}
		if out.User.Disabled {
			return ErrInvalidToken
		}
		out.Token, out.IssuedAt = next, now
		return insertRefresh(tx, out.User.ID, rt.Family, next)
	})
	if err != nil {
		return Rotation{}, err
	}
	if replay {
		return Rotation{}, ErrTokenReused
	}
	return out, nil
}

// replayRotation fills out with the answer of the rotation that spent the
// token tok (row id) when it may be answered again at now: within
// RefreshReplayGrace of it, while the token it issued is unused and the
// family and the user are still good. false: it may not (a reuse).
func replayRotation(tx *gorm.DB, id int64, tok string, now time.Time, out *Rotation) (bool, error) {
	var spent struct {
		UsedAt     *time.Time
		NextSealed *string
	}
	if err := tx.Raw("SELECT used_at, next_sealed FROM refresh_tokens WHERE id = ?", id).Scan(&spent).Error; err != nil {
		return false, err
	}
	if spent.UsedAt == nil || spent.NextSealed == nil || now.Before(*spent.UsedAt) || now.Sub(*spent.UsedAt) >= RefreshReplayGrace {
		return false, nil
	}
	next, ok := openSuccessor(*spent.NextSealed, tok)
	if !ok {
		return false, nil
	}
	var succ RefreshToken
	err := tx.Where("token_hash = ?", HashToken(next)).First(&succ).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if succ.UsedAt != nil || succ.RevokedAt != nil {
		return false, nil
	}
	if err := tx.First(&out.User, succ.UserID).Error; err != nil {
		return false, notFound(err)
	}
	if out.User.Disabled {
		return false, ErrInvalidToken
	}
	out.Token, out.IssuedAt, out.Replayed = next, spent.UsedAt.UTC(), true
	return true, nil
}

// sealSuccessor seals the refresh token next for the row of the token
// spent that issued it: next's 32 random bytes XOR a key that only spent
// yields (SHA-256 of a label and spent; the row stores SHA-256 of spent
// alone, from which the key cannot be made). A one-time pad: each key
// seals one token.
func sealSuccessor(next, spent string) string {
	raw, err := base64.RawURLEncoding.DecodeString(next)
	if err != nil {
		panic(err) // next is randomToken's
	}
	key := successorKey(spent)
	for i := range raw {
		raw[i] ^= key[i%len(key)]
	}
	return hex.EncodeToString(raw)
}

// openSuccessor reverses sealSuccessor.
func openSuccessor(sealed, spent string) (string, bool) {
	raw, err := hex.DecodeString(sealed)
	if err != nil || len(raw) != sha256.Size {
		return "", false
	}
	key := successorKey(spent)
	for i := range raw {
		raw[i] ^= key[i%len(key)]
	}
	return base64.RawURLEncoding.EncodeToString(raw), true
}

func successorKey(spent string) [sha256.Size]byte {
	return sha256.Sum256([]byte("kehou refresh successor\x00" + spent))
}
