package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Idempotency-Key handling for POST /enrollments.
//
// A key is scoped to its user. The first request with a key claims it by
// inserting the row inside the enrollment's own transaction, and stores its
// answer there, so the key exists if and only if the enrollment does. A
// concurrent request with the same key blocks on the primary key (PostgreSQL)
// or on the writer lock (SQLite) until the first commits, then replays its
// answer. Only successful answers are stored: a request that failed changed
// nothing, so running it again on a retry is both safe and what a parent
// wants (a seat may have freed up since).

// idempotentStatus is the HTTP status of a stored answer: 201 Created.
const idempotentStatus = 201

func validIdempotencyKey(k string) bool {
	if len(k) < 1 || len(k) > 100 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// requestHash is the hash of the canonical request: the fields that decide
// its effect, in a fixed form, whatever the JSON looked like.
func requestHash(in NewEnrollment) string {
	rank := "-"
	if in.Rank != nil {
		rank = fmt.Sprint(*in.Rank)
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("POST /enrollments\nstudent_id=%d\noffering_id=%d\nrank=%s",
		in.StudentID, in.OfferingID, rank)))
	return hex.EncodeToString(sum[:])
}

type idempotencyRow struct {
	RequestHash string    `gorm:"column:request_hash"`
	Status      int       `gorm:"column:status"`
	Body        string    `gorm:"column:body"`
	ExpiresAt   time.Time `gorm:"column:expires_at"`
}

// lookupIdempotent finds a stored, unexpired answer for (userID, key): ok
// with the replayed enrollment when the request matches,
// ErrIdempotencyReused when the key was used for another request.
func lookupIdempotent(q *gorm.DB, userID int64, key, hash string, now time.Time) (Enrollment, bool, error) {
	var rows []idempotencyRow
	err := q.Raw("SELECT request_hash, status, body, expires_at FROM idempotency_keys WHERE user_id = ? AND key = ? AND expires_at > ?",
		userID, key, now).Scan(&rows).Error
	if err != nil || len(rows) == 0 {
		return Enrollment{}, false, err
	}
	r := rows[0]
	if r.RequestHash != hash {
		return Enrollment{}, false, ErrIdempotencyReused
	}
	var e Enrollment
	if err := json.Unmarshal([]byte(r.Body), &e); err != nil {
		return Enrollment{}, false, fmt.Errorf("models: stored idempotent answer: %w", err)
	}
	e.Replayed = true
	return e, true, nil
}

// claimIdempotent claims (userID, key) inside tx. When another request
// already holds it, it returns a replayError with that request's answer (or
// ErrIdempotencyReused), which rolls the transaction back.
func claimIdempotent(tx *gorm.DB, userID int64, key, hash string, now time.Time) error {
	if err := tx.Exec("DELETE FROM idempotency_keys WHERE user_id = ? AND key = ? AND expires_at <= ?", userID, key, now).Error; err != nil {
		return err
	}
	res := tx.Exec(`INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, created_at, expires_at)
		VALUES (?, ?, ?, 0, '', ?, ?) ON CONFLICT (user_id, key) DO NOTHING`, userID, key, hash, now, now.Add(IdempotencyTTL))
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 1 {
		return nil
	}
	e, ok, err := lookupIdempotent(tx, userID, key, hash, now)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("models: idempotency key %q vanished", key)
	}
	return replayError{e}
}

// storeIdempotent records e as the answer to the claimed key.
func storeIdempotent(tx *gorm.DB, userID int64, key string, e Enrollment) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return tx.Exec("UPDATE idempotency_keys SET status = ?, body = ? WHERE user_id = ? AND key = ?",
		idempotentStatus, string(b), userID, key).Error
}

// PruneIdempotencyKeys deletes expired keys and returns how many (for a
// periodic job; expired keys are also replaced when reused).
func PruneIdempotencyKeys(ctx context.Context, db *DB, now time.Time) (int64, error) {
	var n int64
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("DELETE FROM idempotency_keys WHERE expires_at <= ?", now.UTC())
		n = res.RowsAffected
		return res.Error
	})
	return n, err
}
