package models

import (
	"encoding/json"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Notification kinds written to the outbox.
const (
	NotifyEnrollmentConfirmed = "enrollment_confirmed"
	NotifyWaitlistPromoted    = "waitlist_promoted"
	NotifyLotteryResult       = "lottery_result"
	NotifyOfferingCancelled   = "offering_cancelled"
	NotifyAttendance          = "attendance"
)

// OutboxMessage is one notification waiting for (or done with) delivery.
type OutboxMessage struct {
	ID            int64      `gorm:"primaryKey"`
	Kind          string     `gorm:"column:kind"`
	UserID        int64      `gorm:"column:user_id"`
	StudentID     *int64     `gorm:"column:student_id"`
	DedupeKey     string     `gorm:"column:dedupe_key"`
	Payload       string     `gorm:"column:payload"`
	Status        string     `gorm:"column:status"` // pending, sent, failed, refused
	Attempts      int        `gorm:"column:attempts"`
	NextAttemptAt time.Time  `gorm:"column:next_attempt_at"`
	LastError     string     `gorm:"column:last_error"`
	CreatedAt     time.Time  `gorm:"column:created_at"`
	SentAt        *time.Time `gorm:"column:sent_at"`
}

// TableName maps OutboxMessage to the outbox table.
func (OutboxMessage) TableName() string { return "outbox" }

// Notification is an event to tell a family about. Payload carries the
// template's values (plain strings; the sender truncates to WeChat's limits).
type Notification struct {
	Kind      string
	UserID    int64
	StudentID int64
	// DedupeKey names the event (e.g. "promoted:enrollment:900"): the same
	// key enqueues once, so a retried transaction cannot notify twice.
	DedupeKey string
	Payload   map[string]string
}

// EnqueueNotification writes n to the outbox inside tx, the transaction of the
// event that causes it. A second enqueue with the same DedupeKey is ignored.
func EnqueueNotification(tx *gorm.DB, n Notification) error {
	b, err := json.Marshal(n.Payload)
	if err != nil {
		return err
	}
	m := OutboxMessage{Kind: n.Kind, UserID: n.UserID, DedupeKey: n.DedupeKey, Payload: string(b),
		Status: "pending", NextAttemptAt: time.Now().UTC()}
	if n.StudentID != 0 {
		m.StudentID = &n.StudentID
	}
	return tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "dedupe_key"}}, DoNothing: true}).Create(&m).Error
}

// statusPhrases are the notification wording of enrollment statuses: WeChat's
// "phrase" template values hold at most 5 Chinese characters.
var statusPhrases = map[string]string{
	StatusEnrolled:   "报名成功",
	StatusWaitlisted: "候补中",
	StatusApplied:    "已申请",
	StatusRejected:   "未中签",
	StatusWithdrawn:  "已退出",
}

// StatusPhrase is the parent-facing wording (at most 5 characters) of an
// enrollment status, for notification payloads.
func StatusPhrase(status string) string {
	if p, ok := statusPhrases[status]; ok {
		return p
	}
	return status
}

// NotifyGuardians enqueues one notification per parent linked to studentID,
// with dedupe keys "<event>:user:<id>", in one INSERT … SELECT (it runs in
// every enrollment's transaction).
func NotifyGuardians(tx *gorm.DB, kind string, studentID int64, event string, payload map[string]string) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	// PostgreSQL cannot type bare parameters in a SELECT list.
	r := rawOf(tx)
	text, id, ts := "?", "?", "?"
	if r.pg {
		text, id, ts = "CAST(? AS TEXT)", "CAST(? AS BIGINT)", "CAST(? AS TIMESTAMPTZ)"
	}
	_, err = r.exec(`INSERT INTO outbox (kind, user_id, student_id, dedupe_key, payload, status, attempts,
		next_attempt_at, last_error, created_at)
		SELECT `+text+`, ps.user_id, `+id+`, `+text+` || CAST(ps.user_id AS TEXT), `+text+`, 'pending', 0, `+ts+`, '', `+ts+`
		FROM parent_students ps WHERE ps.student_id = ?
		ON CONFLICT (dedupe_key) DO NOTHING`,
		kind, studentID, event+":user:", string(b), now, now, studentID)
	return err
}
