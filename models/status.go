package models

import (
	"slices"
	"strings"
)

// The status vocabulary: every status an enrollment or an outbox message
// can hold, defined once, with the sets the rules and the SQL share. SQL
// never spells a status list by hand: it is rendered from these sets
// (sqlList), and TestStatusVocabulary proves that what the schema holds
// (the partial unique index enrollments_live) says the same.
//
// A new live status (a seat held while a payment is pending, say) is one
// line in liveStatuses plus its rules; the test then names the migration
// that must re-create enrollments_live.

// EnrollmentStatus is the state of an enrollment.
type EnrollmentStatus string

// Enrollment statuses. Live ones hold (or wait for) a seat.
const (
	StatusEnrolled EnrollmentStatus = "enrolled"
	// StatusPendingPayment is a seat held until its order is paid
	// (order_hold.go): live, counted against capacity and the rules, on
	// the roll only once paid.
	StatusPendingPayment EnrollmentStatus = "pending_payment"
	StatusWaitlisted     EnrollmentStatus = "waitlisted"
	StatusApplied        EnrollmentStatus = "applied"
	StatusWithdrawn      EnrollmentStatus = "withdrawn"
	StatusRejected       EnrollmentStatus = "rejected"
)

// enrollmentStatuses are every enrollment status with its parent-facing
// phrase (WeChat's "phrase" template values hold at most 5 Chinese
// characters) and its name on the staff's rosters and exports.
var enrollmentStatuses = []struct {
	Status       EnrollmentStatus
	Phrase, Name string
}{
	{StatusEnrolled, "报名成功", "已录取"},
	{StatusPendingPayment, "待缴费", "待缴费（保留名额）"},
	{StatusWaitlisted, "候补中", "候补"},
	{StatusApplied, "已申请", "已报名（待抽签）"},
	{StatusRejected, "未中签", "未中签"},
	{StatusWithdrawn, "已退出", "已退出"},
}

// liveStatuses are the statuses that hold or wait for a seat (rule 2 allows
// one of them per student and offering; enrollments_live enforces it).
var liveStatuses = []EnrollmentStatus{StatusEnrolled, StatusPendingPayment, StatusWaitlisted, StatusApplied}

// liveSQL is liveStatuses as an SQL list: "status IN " + liveSQL.
var liveSQL = sqlList(liveStatuses)

// seatStatuses are the statuses that hold a seat (offerings.enrolled_count
// counts them): enrolled, or held for payment (docs/fees.md).
var seatStatuses = []EnrollmentStatus{StatusEnrolled, StatusPendingPayment}

// seatSQL is seatStatuses as an SQL list: "status IN " + seatSQL.
var seatSQL = sqlList(seatStatuses)

// holdsSeat reports whether s holds a seat.
func holdsSeat(s EnrollmentStatus) bool { return slices.Contains(seatStatuses, s) }

// IsLive reports whether s holds or waits for a seat.
func (s EnrollmentStatus) IsLive() bool { return slices.Contains(liveStatuses, s) }

// Phrase is the parent-facing wording of s (at most 5 characters), for
// notification payloads; an unknown status is its own phrase.
func (s EnrollmentStatus) Phrase() string {
	for _, p := range enrollmentStatuses {
		if p.Status == s {
			return p.Phrase
		}
	}
	return string(s)
}

// Name is the staff-facing name of s (rosters and exports); an unknown
// status is its own name.
func (s EnrollmentStatus) Name() string {
	for _, p := range enrollmentStatuses {
		if p.Status == s {
			return p.Name
		}
	}
	return string(s)
}

// StatusPhrase is the parent-facing wording of an enrollment status (see
// EnrollmentStatus.Phrase).
func StatusPhrase(status EnrollmentStatus) string { return status.Phrase() }

// OutboxStatus is the delivery state of an outbox message. A message goes
// pending → sending → sent, refused (the parent gave no consent) or failed
// (gave up); a failed attempt goes back to pending with a later
// next_attempt_at.
type OutboxStatus string

// Outbox statuses.
const (
	OutboxPending OutboxStatus = "pending"
	OutboxSending OutboxStatus = "sending"
	OutboxSent    OutboxStatus = "sent"
	OutboxRefused OutboxStatus = "refused"
	OutboxFailed  OutboxStatus = "failed"
	// OutboxInApp is a message kept from WeChat because its recipient
	// caused what it tells (payload "actor_id"): their own tap answered
	// them on screen, and a one-time consent is kept for what they cannot
	// see happen. It stays in the inbox.
	OutboxInApp OutboxStatus = "in_app"
)

// outboxDone are the statuses a message ends in (retention deletes them
// when old).
var outboxDone = []OutboxStatus{OutboxSent, OutboxRefused, OutboxFailed, OutboxInApp}

// sqlText is s as an SQL string literal. Statuses are fixed words of this
// file, never input; the quote doubling is for safety's sake.
func sqlText[S ~string](s S) string {
	return "'" + strings.ReplaceAll(string(s), "'", "''") + "'"
}

// sqlList is set as a parenthesised SQL list of string literals.
func sqlList[S ~string](set []S) string {
	parts := make([]string, len(set))
	for i, s := range set {
		parts[i] = sqlText(s)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
