package models

import (
	"encoding/json"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// OutboxMessage is one notification waiting for (or done with) delivery.
type OutboxMessage struct {
	ID            int64        `gorm:"primaryKey"`
	Kind          string       `gorm:"column:kind"`
	UserID        int64        `gorm:"column:user_id"`
	StudentID     *int64       `gorm:"column:student_id"`
	DedupeKey     string       `gorm:"column:dedupe_key"`
	Payload       string       `gorm:"column:payload"`
	Status        OutboxStatus `gorm:"column:status"`
	Attempts      int          `gorm:"column:attempts"`
	NextAttemptAt time.Time    `gorm:"column:next_attempt_at"`
	LastError     string       `gorm:"column:last_error"`
	CreatedAt     time.Time    `gorm:"column:created_at"`
	SentAt        *time.Time   `gorm:"column:sent_at"`
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
		Status: OutboxPending, NextAttemptAt: txNow(tx)}
	if n.StudentID != 0 {
		m.StudentID = &n.StudentID
	}
	return tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "dedupe_key"}}, DoNothing: true}).Create(&m).Error
}

// guardianOutboxInsert is the one INSERT that notifies guardians: an
// outbox row for each parent linked to the student of each row of rows, a
// FROM item (aliased v) with columns sid (the student), event and payload
// (and kind, when the caller passes "v.kind" as kind: one kind per row).
// Its dedupe key is "<event>:user:<parent's id>", so a retried transaction
// cannot notify twice. kind and at are the SQL of the notification kind and
// of the time it is due and made (at appears twice), parameters the caller
// passes before rows' own. WHERE true lets SQLite parse ON CONFLICT after
// INSERT … SELECT.
func guardianOutboxInsert(rows, kind, at string) string {
	return `INSERT INTO outbox (kind, user_id, student_id, dedupe_key, payload, status, attempts, next_attempt_at, last_error, created_at)
	SELECT ` + kind + `, ps.user_id, v.sid, v.event || ':user:' || CAST(ps.user_id AS TEXT), v.payload, ` + sqlText(OutboxPending) + `, 0, ` + at + `, '', ` + at + `
	FROM ` + rows + ` JOIN parent_students ps ON ps.student_id = v.sid
	WHERE true
	ON CONFLICT (dedupe_key) DO NOTHING`
}

// The guardianOutboxInsert of one student, per engine (PostgreSQL cannot
// type bare parameters in a SELECT list).
var (
	notifyGuardiansSQLite = guardianOutboxInsert("(SELECT ? AS sid, ? AS event, ? AS payload) v", "?", "?")
	notifyGuardiansPG     = guardianOutboxInsert("(SELECT CAST(? AS BIGINT) AS sid, CAST(? AS TEXT) AS event, CAST(? AS TEXT) AS payload) v",
		"CAST(? AS TEXT)", "CAST(? AS TIMESTAMPTZ)")
)

// NotifyGuardians enqueues, inside tx, one notification per parent linked
// to studentID (guardianOutboxInsert) for event, in one statement.
//
// Every message names the child (payload "student", read here when the
// caller did not set it): a family with two children must know which one.
func NotifyGuardians(tx *gorm.DB, kind string, studentID int64, event string, payload map[string]string) error {
	if payload["student"] == "" {
		var name string
		if err := tx.Raw("SELECT name FROM students WHERE id = ?", studentID).Scan(&name).Error; err != nil {
			return err
		}
		p := make(map[string]string, len(payload)+1)
		for k, v := range payload {
			p[k] = v
		}
		p["student"] = name
		payload = p
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	now := txNow(tx)
	r := rawOf(tx)
	q := notifyGuardiansSQLite
	if r.d == Postgres {
		q = notifyGuardiansPG
	}
	_, err = r.exec(q, kind, now, now, studentID, event, string(b))
	return err
}

// guardianNote is one child's event for notifyGuardiansMany; its payload
// names the child.
type guardianNote struct {
	studentID int64
	event     string
	payload   map[string]string
}

// notifyGuardiansMany is NotifyGuardians for the events of many children
// of one kind, in one statement (a roll's dismissals are one POST: one
// INSERT rather than one a child).
func notifyGuardiansMany(tx *gorm.DB, kind string, notes []guardianNote) error {
	if len(notes) == 0 {
		return nil
	}
	sids, events, payloads := make([]int64, len(notes)), make([]string, len(notes)), make([]string, len(notes))
	for i, n := range notes {
		b, err := json.Marshal(n.payload)
		if err != nil {
			return err
		}
		sids[i], events[i], payloads[i] = n.studentID, n.event, string(b)
	}
	cols := []batchColumn{{"sid", "BIGINT", sids}, {"event", "TEXT", events}, {"payload", "TEXT", payloads}}
	now := txNow(tx)
	r := rawOf(tx)
	if r.d == Postgres {
		_, err := r.exec(guardianOutboxInsert(pgRows(cols), "CAST(? AS TEXT)", "CAST(? AS TIMESTAMPTZ)"),
			append([]any{kind, now, now}, pgValues(cols)...)...)
		return err
	}
	rows, err := sqliteJSON(cols)
	if err != nil {
		return err
	}
	_, err = r.exec(guardianOutboxInsert(sqliteRows(cols), "?", "?"), kind, now, now, rows)
	return err
}
