package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// lockSessionOffering locks, on PostgreSQL, the row of the offering
// session id belongs to (nothing on SQLite, whose one writer serialises).
func lockSessionOffering(tx *gorm.DB, id int64) error {
	if dialectOf(tx) != Postgres {
		return nil
	}
	return tx.Exec("SELECT id FROM offerings WHERE id = (SELECT offering_id FROM sessions WHERE id = ?) FOR UPDATE", id).Error
}

// MaxReasonLen bounds the reasons of cancellations, corrections and leave.
const MaxReasonLen = 200

// CancelSession cancels session id (its school's admin, or a platform
// admin) with a reason, and tells the families of the children on its roll.
// A cancelled session is not held: it is not billed and counts in
// sessions_cancelled. A session with marks cannot be cancelled.
func CancelSession(ctx context.Context, db *DB, a Actor, id int64, reason string, now time.Time) (SessionView, error) {
	s, err := findSessionView(db.Read(ctx), id)
	if err != nil {
		return SessionView{}, err
	}
	if err := requireManage(ctx, db, a, s.SchoolID); err != nil {
		return SessionView{}, err
	}
	reason = strings.TrimSpace(reason)
	var v Validator
	v.Check(reason != "" && len([]rune(reason)) <= MaxReasonLen, "reason", fmt.Sprintf("停课原因必填，最多%d个字", MaxReasonLen))
	if err := v.Err(); err != nil {
		return SessionView{}, err
	}
	// The messages it queues are made at now (the seed's simulated days too).
	err = db.Tx(withClock(ctx, now), func(tx *gorm.DB) error {
		// On PostgreSQL the offering's row first (the order an offering's
		// edit takes them in): an enrollment batch pricing a seat in it
		// holds that lock, so either the batch bills without this date
		// (it reads cancelled sessions after its lock) or this
		// cancellation waits for the batch's order and credits it.
		if err := lockSessionOffering(tx, id); err != nil {
			return err
		}
		cur, err := lockSession(tx, id)
		if err != nil {
			return err
		}
		if cur.Status == SessionCancelled {
			return ErrSessionCancelled
		}
		var marks int64
		if err := tx.Raw("SELECT COUNT(*) FROM attendance WHERE session_id = ?", id).Scan(&marks).Error; err != nil {
			return err
		}
		if marks > 0 {
			return ErrSessionMarked
		}
		if err := tx.Exec(`UPDATE sessions SET status = ?, cancel_reason = ?, cancelled_by = ?, cancelled_at = ?
			WHERE id = ?`, SessionCancelled, reason, nullID(a.UserID), now.UTC(), id).Error; err != nil {
			return err
		}
		roll, err := rollStudents(tx, cur)
		if err != nil {
			return err
		}
		// A cancelled session is not billed: each order's share of it
		// comes back (order_money.go).
		if err := settleCancelledSession(tx, cur.OfferingID, id, cur.Date, a.UserID, now); err != nil {
			return err
		}
		note, detail := sessionCancelNote(cur.Date, reason)
		for _, st := range roll {
			if err := NotifyGuardians(tx, NotifySessionCancelled, st.StudentID,
				fmt.Sprintf("session_cancelled:session:%d:student:%d", id, st.StudentID),
				map[string]string{"student": st.Name, "offering": s.OfferingName, "status": "停课", "note": note,
					"detail": detail, "session_id": fmt.Sprint(id), NoteSaysStatus: "1"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return SessionView{}, err
	}
	return findSessionView(db.Read(ctx), id)
}

// shortDate formats "2026-11-05" as "11月05日" for messages.
func shortDate(d string) string {
	if len(d) != 10 {
		return d
	}
	return d[5:7] + "月" + d[8:10] + "日"
}
