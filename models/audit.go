package models

import (
	"context"
	"log/slog"
	"sync/atomic"

	"gorm.io/gorm"
)

// RequestInfo names the request an operation runs for, for the staff
// access log: the edge puts it in the context (WithRequestInfo).
type RequestInfo struct {
	ID         string
	ClientAddr string
}

type requestInfoKey struct{}

// WithRequestInfo returns ctx carrying ri.
func WithRequestInfo(ctx context.Context, ri RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, ri)
}

// RequestInfoFrom returns the RequestInfo of ctx (zero when none: a job or
// the shell).
func RequestInfoFrom(ctx context.Context) RequestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(RequestInfo)
	return ri
}

// staffAccessLogFailures counts failed writes of the staff access log.
var staffAccessLogFailures atomic.Uint64

// StaffAccessLogFailures is how many staff access log writes failed in this
// process (exported in /metrics: a read that went unlogged must be seen).
func StaffAccessLogFailures() uint64 { return staffAccessLogFailures.Load() }

// LogStaffAccess records that staff a read children's data of schoolID
// (PIPL: staff access to minors' data is logged), with the request id and
// client address of ctx. A failure to record is logged and counted, not
// returned: it must not break the read, and the write is small.
func LogStaffAccess(ctx context.Context, db *DB, a Actor, action string, schoolID int64, object string) {
	if !a.IsStaff() {
		return
	}
	ri := RequestInfoFrom(ctx)
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Exec("INSERT INTO staff_access_log (user_id, action, school_id, object, request_id, client_addr, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			a.UserID, action, schoolID, object, ri.ID, ri.ClientAddr, txNow(tx)).Error
	})
	if err != nil {
		staffAccessLogFailures.Add(1)
		slog.WarnContext(ctx, "staff access log failed", "action", action, "request_id", ri.ID, "error", err.Error())
	}
}
