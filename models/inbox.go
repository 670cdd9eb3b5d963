package models

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Deliveries of a message in the parent's inbox: what became of its WeChat
// copy.
const (
	DeliverySent      = "sent"       // WeChat took it
	DeliveryNoConsent = "no_consent" // the parent had no acceptance left (or WeChat said so)
	DeliveryFailed    = "failed"     // WeChat refused it or kehou gave up
	DeliveryPending   = "pending"    // not sent yet
	DeliveryInApp     = "in_app"     // the parent caused it and saw it on screen: not sent to WeChat
)

// InboxMessage is one message in a parent's in-app inbox: every
// notification lands there, whatever became of its WeChat copy.
type InboxMessage struct {
	ID        int64
	Kind      string
	StudentID *int64
	Title     string
	Body      string
	CreatedAt time.Time
	Delivery  string
}

// FindInbox returns userID's messages newest first by when they were made
// (then by id), limit+1 of them (the extra one tells the caller another
// page exists), after the cursor key after ("" from the newest; else
// InboxKey of the last message of the previous page: ErrBadCursor when it
// does not parse). By when, not by id: a seeded demo makes its past in
// another order than its days (a lottery of 10-25 is drawn after the
// afternoons of 12-07 are simulated).
func FindInbox(ctx context.Context, db *DB, userID int64, after string, limit int) ([]InboxMessage, error) {
	q := db.Read(ctx).Model(&OutboxMessage{}).Where("user_id = ?", userID)
	if after != "" {
		at, id, err := parseInboxKey(after)
		if err != nil {
			return nil, err
		}
		q = q.Where("created_at < ? OR (created_at = ? AND id < ?)", at, at, id)
	}
	var rows []OutboxMessage
	if err := q.Order("created_at DESC, id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]InboxMessage, 0, len(rows))
	for _, m := range rows {
		var p map[string]string
		_ = json.Unmarshal([]byte(m.Payload), &p) // a bad payload still shows its title
		k, _ := FindNotifyKind(m.Kind)
		title := k.Title
		if title == "" {
			title = m.Kind
		}
		out = append(out, InboxMessage{ID: m.ID, Kind: m.Kind, StudentID: m.StudentID, Title: title,
			Body: MessageBody(p), CreatedAt: m.CreatedAt, Delivery: delivery(m, p)})
	}
	return out, nil
}

// InboxKey is the paging key of m in the inbox: when it was made, then its
// id.
func InboxKey(m InboxMessage) string {
	return m.CreatedAt.UTC().Format(time.RFC3339Nano) + "_" + strconv.FormatInt(m.ID, 10)
}

func parseInboxKey(k string) (time.Time, int64, error) {
	ts, ids, ok := strings.Cut(k, "_")
	at, err := time.Parse(time.RFC3339Nano, ts)
	id, ierr := strconv.ParseInt(ids, 10, 64)
	if !ok || err != nil || ierr != nil || id <= 0 {
		return time.Time{}, 0, ErrBadCursor
	}
	return at.UTC(), id, nil
}

// delivery is the inbox word for m's outbox status.
func delivery(m OutboxMessage, p map[string]string) string {
	switch m.Status {
	case OutboxSent:
		return DeliverySent
	case OutboxRefused:
		return DeliveryNoConsent
	case OutboxFailed:
		return DeliveryFailed
	case OutboxInApp:
		return DeliveryInApp
	}
	if CausedBy(p, m.UserID) {
		return DeliveryInApp // the worker has not looked at it yet; it will not send it
	}
	return DeliveryPending
}

// CausedBy reports whether the message with payload p tells userID of
// something userID did (payload "actor_id").
func CausedBy(p map[string]string, userID int64) bool {
	return p["actor_id"] != "" && p["actor_id"] == strconv.FormatInt(userID, 10)
}

// NoteSaysStatus is the payload key of a message whose note names its
// status itself ("12月16日停课：…" beside the status 停课): the inbox then
// says the status once. Free text (a reason) never counts as saying it.
const NoteSaysStatus = "note_says_status"

// MessageBody is the inbox text of a notification payload, in full (the
// WeChat copy fits its fields; this one need not): "李小红 篮球社：报名成功，
// 16:30-18:00", with "detail" (the full text of a shortened note) in place
// of "note". A note that says its status already ("12月16日停课：操场维修",
// which stands alone in WeChat's note field; its payload's NoteSaysStatus
// key is set) is not preceded by it again.
func MessageBody(p map[string]string) string {
	var head []string
	for _, k := range []string{"student", "offering"} {
		if p[k] != "" {
			head = append(head, p[k])
		}
	}
	note := p["note"]
	if p["detail"] != "" {
		note = p["detail"]
	}
	status := p["status"]
	if p[NoteSaysStatus] != "" {
		status = ""
	}
	var tail []string
	for _, v := range []string{status, note, p["time"]} {
		if v != "" {
			tail = append(tail, v)
		}
	}
	body := strings.Join(head, " ")
	if len(tail) > 0 {
		if body != "" {
			body += "："
		}
		body += strings.Join(tail, "，")
	}
	return body
}
