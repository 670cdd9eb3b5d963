package models

import (
	"context"
	"log/slog"
	"time"

	"gorm.io/gorm"
)

// LogStaffAccess records that staff a read children's data of schoolID
// (PIPL: staff access to minors' data is logged). A failure to record is
// logged, not returned: it must not break the read, and the write is small.
func LogStaffAccess(ctx context.Context, db *DB, a Actor, action string, schoolID int64, object string) {
	if !a.IsStaff() {
		return
	}
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Exec("INSERT INTO staff_access_log (user_id, action, school_id, object, created_at) VALUES (?, ?, ?, ?, ?)",
			a.UserID, action, schoolID, object, time.Now().UTC()).Error
	})
	if err != nil {
		slog.WarnContext(ctx, "staff access log failed", "action", action, "error", err.Error())
	}
}
