package models

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Idempotency-Key handling for POST /enrollments.
//
// A key is scoped to its user. The answer is stored inside the enrollment's
// own transaction, so the key exists if and only if the enrollment does. A
// concurrent request with the same key loses to the first one that commits —
// on the student's row lock, the live-enrollment unique index or the key's
// primary key (PostgreSQL), or on the single writer (SQLite) — and then
// replays the winner's answer. Only successful answers are stored: a request that failed changed
// nothing, so running it again on a retry is both safe and what a parent
// wants (a seat may have freed up since).

// replaceExpiredAnswer ends the INSERT of Idempotency-Key answers: a key
// already stored is replaced only when its answer has expired, so an
// unexpired one stays in the way (and fewer answers than rows are stored).
const replaceExpiredAnswer = `ON CONFLICT (user_id, key) DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status,
		body = excluded.body, created_at = excluded.created_at, expires_at = excluded.expires_at
	WHERE idempotency_keys.expires_at <= excluded.created_at`

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
	// A held seat replays as it is now, not as first answered: one paid
	// since (or released unpaid) must not replay as pending_payment. Every
	// other answer replays as first given (a retry after a withdrawal still
	// sees its 201), and so does a held seat whose row is gone.
	var cur Enrollment
	if e.Status != StatusPendingPayment {
		e.Replayed = true
		return e, true, nil
	}
	if err := q.Where("id = ?", e.ID).Take(&cur).Error; err == nil {
		e = cur
		var ord Order
		if err := q.Where("enrollment_id = ?", e.ID).Take(&ord).Error; err == nil {
			e.OrderID, e.AmountFen = &ord.ID, &ord.AmountFen
		}
	}
	e.Replayed = true
	return e, true, nil
}

// keyInTheWay answers an enrollment whose Idempotency-Key answer could not
// be stored: an unexpired row exists — a concurrent request with the key
// committed first — so it returns a replayError with that answer (or
// ErrIdempotencyReused), which rolls this transaction back.
func keyInTheWay(tx *gorm.DB, userID int64, key, hash string, now time.Time) error {
	prev, ok, err := lookupIdempotent(tx, userID, key, hash, now)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("models: idempotency key %q vanished", key)
	}
	return replayError{prev}
}
