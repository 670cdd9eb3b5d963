package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// now reads db's clock (DB.Clock).
func (db *DB) now() time.Time {
	if db.Clock != nil {
		return db.Clock()
	}
	return time.Now()
}

// Session statuses.
const (
	SessionScheduled = "scheduled"
	SessionCancelled = "cancelled"
)

// runningStatuses are the offering statuses whose service goes on (SPEC
// "Statistics": a running offering); only they have sessions ahead.
var runningStatuses = []string{OfferingPublished, OfferingClosed}

func isRunning(status string) bool { return status == OfferingPublished || status == OfferingClosed }

// Session is one meeting of an offering on one date. Sessions are generated
// from the offering's weekdays and the term's calendar (SyncSessions), never
// typed in. StartMin/EndMin are minutes after midnight, Asia/Shanghai.
type Session struct {
	ID           int64      `gorm:"primaryKey"`
	OfferingID   int64      `gorm:"column:offering_id"`
	SchoolID     int64      `gorm:"column:school_id"`
	TermID       int64      `gorm:"column:term_id"`
	Date         string     `gorm:"column:session_date"`
	StartMin     int        `gorm:"column:start_min"`
	EndMin       int        `gorm:"column:end_min"`
	Status       string     `gorm:"column:status"`
	CancelReason string     `gorm:"column:cancel_reason"`
	CancelledBy  *int64     `gorm:"column:cancelled_by"`
	CancelledAt  *time.Time `gorm:"column:cancelled_at"`
	RollTakenAt  *time.Time `gorm:"column:roll_taken_at"`
	CreatedAt    time.Time  `gorm:"column:created_at"`
}

// TableName maps Session to the sessions table.
func (Session) TableName() string { return "sessions" }

// at is the instant of minute m of date d in Asia/Shanghai.
func at(d string, m int) time.Time {
	day, err := time.ParseInLocation(time.DateOnly, d, Zone)
	if err != nil {
		return time.Time{}
	}
	return day.Add(time.Duration(m) * time.Minute)
}

// StartsAt is the instant the session starts.
func (s Session) StartsAt() time.Time { return at(s.Date, s.StartMin) }

// EndsAt is the instant the session ends.
func (s Session) EndsAt() time.Time { return at(s.Date, s.EndMin) }

// SessionView is a session with what a teacher's list shows of its offering.
type SessionView struct {
	Session
	OfferingName  string `gorm:"column:offering_name"`
	OfferingKind  string `gorm:"column:offering_kind"`
	Venue         string `gorm:"column:venue"`
	TeacherUserID *int64 `gorm:"column:teacher_user_id"`
}

const sessionViewSelect = `SELECT s.*, o.name AS offering_name, o.kind AS offering_kind, o.venue,
	o.teacher_user_id FROM sessions s JOIN offerings o ON o.id = s.offering_id`

// syncOfferingSessions brings o's sessions in step with its term's
// calendar (see syncSessions), inside tx.
func syncOfferingSessions(tx *gorm.DB, o Offering, now time.Time) error {
	var t Term
	if err := tx.Where("id = ?", o.TermID).Take(&t).Error; err != nil {
		return notFound(err)
	}
	return syncSessions(tx, o, t, now)
}

// syncSessions makes o's sessions match its teaching dates in term t, in
// the caller's transaction. The rule, so the past is never rewritten:
//
//   - a missing session is created for every teaching date from today on
//     (today included: publishing at noon gives today's 16:30 session);
//   - a session after today whose date is no longer a teaching date (or
//     every one after today, when o is no longer running) is deleted,
//     unless it has marks or dismissals, or is cancelled while o runs:
//     those are never deleted (a cancelled session is what its families
//     were told; the calendar cancels rather than deletes, see
//     calendar_sessions.go);
//   - sessions after today take o's current start and end times.
//
// It is idempotent (sessions are unique by offering and date): running it
// twice changes nothing.
func syncSessions(tx *gorm.DB, o Offering, t Term, now time.Time) error {
	today := LocalDate(now)
	var want []string
	if isRunning(o.Status) {
		for _, d := range TeachingDates(t.StartsOn, t.EndsOn, t.NoService(), t.Extra(), o.Weekdays) {
			if d.Date >= today {
				want = append(want, d.Date)
			}
		}
	}
	del := `DELETE FROM sessions WHERE offering_id = ? AND session_date > ?
		AND NOT EXISTS (SELECT 1 FROM attendance a WHERE a.session_id = sessions.id)
		AND NOT EXISTS (SELECT 1 FROM dismissals d WHERE d.session_id = sessions.id)`
	args := []any{o.ID, today}
	if isRunning(o.Status) {
		del += " AND status = ?"
		args = append(args, SessionScheduled)
	}
	if len(want) > 0 {
		del += " AND session_date NOT IN ?"
		args = append(args, want)
	}
	if err := tx.Exec(del, args...).Error; err != nil {
		return err
	}
	if err := tx.Exec(`UPDATE sessions SET start_min = ?, end_min = ? WHERE offering_id = ? AND session_date > ?
		AND (start_min <> ? OR end_min <> ?)`, o.StartMin, o.EndMin, o.ID, today, o.StartMin, o.EndMin).Error; err != nil {
		return err
	}
	created := now.UTC()
	const chunk = 100
	for len(want) > 0 {
		n := min(chunk, len(want))
		var sb strings.Builder
		sb.WriteString(`INSERT INTO sessions (offering_id, school_id, term_id, session_date, start_min, end_min,
			status, created_at) VALUES `)
		vals := make([]any, 0, n*8)
		for i, d := range want[:n] {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
			vals = append(vals, o.ID, o.SchoolID, o.TermID, d, o.StartMin, o.EndMin, SessionScheduled, created)
		}
		sb.WriteString(" ON CONFLICT (offering_id, session_date) DO NOTHING")
		if _, err := rawOf(tx).exec(sb.String(), vals...); err != nil {
			return err
		}
		want = want[n:]
	}
	return nil
}

// SyncSessions brings the sessions of offering id in step with its weekdays
// and its term's calendar (see syncSessions). Publishing, patching and
// cancelling an offering and changing a term's calendar call it in their
// own transactions; it is exported for the jobs and tests.
func SyncSessions(ctx context.Context, db *DB, id int64, now time.Time) error {
	return db.Tx(ctx, func(tx *gorm.DB) error {
		var o Offering
		if err := tx.Where("id = ?", id).Take(&o).Error; err != nil {
			return notFound(err)
		}
		return syncOfferingSessions(tx, o, now)
	})
}

// SyncAllSessions runs SyncSessions for every running offering whose term
// has not ended by now's date, one transaction each (a province's offerings
// never hold the SQLite writer at once), and answers how many it synced.
func SyncAllSessions(ctx context.Context, db *DB, now time.Time) (int64, error) {
	var ids []int64
	if err := db.Read(ctx).Raw(`SELECT o.id FROM offerings o JOIN terms t ON t.id = o.term_id
		WHERE o.status IN ? AND t.ends_on >= ? ORDER BY o.id`, runningStatuses, LocalDate(now)).Scan(&ids).Error; err != nil {
		return 0, err
	}
	for i, id := range ids {
		if err := ctx.Err(); err != nil {
			return int64(i), err
		}
		if err := SyncSessions(ctx, db, id, now); err != nil {
			return int64(i), err
		}
	}
	return int64(len(ids)), nil
}

// MaxSessionsPage bounds one page of FindOfferingSessions and
// FindMySessions: more than a term's sessions of one offering.
const MaxSessionsPage = 1000

// Paging asks for one page of a list: at most Limit items after the
// opaque position After ("" for the first page). A finder answers one item
// more than Limit when there is a next page.
type Paging struct {
	After string
	Limit int
}

func (p Paging) limit() int {
	if p.Limit <= 0 || p.Limit > MaxSessionsPage {
		return MaxSessionsPage
	}
	return p.Limit
}

// FindOfferingSessions lists the sessions of offering id between from and
// to (inclusive dates; empty means open), by date, for whoever may see the
// offering (FindOfferingFor). After is the date of the previous page's
// last session.
func FindOfferingSessions(ctx context.Context, db *DB, a Actor, id int64, from, to string, p Paging) ([]SessionView, error) {
	if _, err := FindOfferingFor(ctx, db, a, id); err != nil {
		return nil, err
	}
	q := sessionViewSelect + " WHERE s.offering_id = ?"
	args := []any{id}
	if from != "" {
		q += " AND s.session_date >= ?"
		args = append(args, from)
	}
	if to != "" {
		q += " AND s.session_date <= ?"
		args = append(args, to)
	}
	if p.After != "" {
		q += " AND s.session_date > ?"
		args = append(args, p.After)
	}
	out := []SessionView{}
	err := db.Read(ctx).Raw(q+" ORDER BY s.session_date LIMIT ?", append(args, p.limit()+1)...).Scan(&out).Error
	return out, err
}

// MySessionsCursor is the position of session s in FindMySessions' order.
func MySessionsCursor(s SessionView) string { return fmt.Sprintf("%d:%d", s.StartMin, s.ID) }

// FindMySessions lists the sessions of date a marks: a teacher's own
// (offerings naming them), a school admin's whole school; by start time.
// Sessions of offerings no longer running (cancelled today) are left out.
// After is MySessionsCursor of the previous page's last session.
func FindMySessions(ctx context.Context, db *DB, a Actor, date string, p Paging) ([]SessionView, error) {
	q := sessionViewSelect + " WHERE s.session_date = ? AND o.status IN ?"
	args := []any{date, runningStatuses}
	switch a.Role {
	case RoleTeacher:
		q += " AND o.teacher_user_id = ? AND s.school_id = ?"
		args = append(args, a.UserID, a.SchoolID)
	case RoleSchoolAdmin:
		q += " AND s.school_id = ?"
		args = append(args, a.SchoolID)
	default:
		return nil, ErrForbidden
	}
	if p.After != "" {
		var m, id int64
		if _, err := fmt.Sscanf(p.After, "%d:%d", &m, &id); err != nil {
			return nil, ErrBadCursor
		}
		q += " AND (s.start_min > ? OR (s.start_min = ? AND s.id > ?))"
		args = append(args, m, m, id)
	}
	out := []SessionView{}
	err := db.Read(ctx).Raw(q+" ORDER BY s.start_min, s.id LIMIT ?", append(args, p.limit()+1)...).Scan(&out).Error
	return out, err
}

// findSessionView loads session id with its offering's facts, no scope check.
func findSessionView(tx *gorm.DB, id int64) (SessionView, error) {
	var out SessionView
	err := scanOne(tx.Raw(sessionViewSelect+" WHERE s.id = ?", id), &out)
	return out, err
}

// CanTakeRoll is the one policy of who reads and marks a session's roll:
// a platform admin, the school's admin, or the teacher the offering names.
// Another teacher of the school gets ErrNotYourSession; anyone else
// ErrNotFound (another tenant's session reveals nothing).
func CanTakeRoll(a Actor, s SessionView) error {
	switch {
	case a.Role == RolePlatformAdmin, a.Role == RoleSchoolAdmin && a.SchoolID == s.SchoolID:
		return nil
	case a.Role == RoleTeacher && a.SchoolID == s.SchoolID:
		if s.TeacherUserID != nil && *s.TeacherUserID == a.UserID {
			return nil
		}
		return ErrNotYourSession
	}
	return ErrNotFound
}

// FindSessionFor loads session id for a, who must pass CanTakeRoll.
func FindSessionFor(ctx context.Context, db *DB, a Actor, id int64) (SessionView, error) {
	s, err := findSessionView(db.Read(ctx), id)
	if err != nil {
		return SessionView{}, err
	}
	if err := CanTakeRoll(a, s); err != nil {
		return SessionView{}, err
	}
	return s, nil
}

// lockSession re-reads session id inside tx, locking its row on
// PostgreSQL, so two markings of one roll (two instances) take turns.
func lockSession(tx *gorm.DB, id int64) (Session, error) {
	q := "SELECT * FROM sessions WHERE id = ?"
	if dialectOf(tx) == Postgres {
		q += " FOR UPDATE"
	}
	var s Session
	err := scanOne(tx.Raw(q, id), &s)
	return s, err
}

// What became of a session by a moment (SessionState): SPEC fixes its
// status to scheduled|cancelled, so a session whose day is past but whose
// roll nobody took still reads scheduled; its state says so.
const (
	SessionUpcoming   = "upcoming"    // not started yet
	SessionInProgress = "in_progress" // started, not ended
	SessionHeld       = "held"        // ended, its roll taken
	SessionUnmarked   = "unmarked"    // ended, and nobody took its roll
	// A cancelled session's state is SessionCancelled, as its status.
)

// SessionStates are the values of SessionState, for the API's enum.
var SessionStates = []string{SessionUpcoming, SessionInProgress, SessionHeld, SessionUnmarked, SessionCancelled}

// SessionState is what became of session s by now: cancelled; upcoming
// before its start; in progress until its end; then held when its roll
// was taken, unmarked when not (a past session nobody marked — the roll
// stays open to the teacher for the rest of its day, to an admin after).
func SessionState(s Session, now time.Time) string {
	switch {
	case s.Status == SessionCancelled:
		return SessionCancelled
	case now.Before(s.StartsAt()):
		return SessionUpcoming
	case now.Before(s.EndsAt()):
		return SessionInProgress
	case s.RollTakenAt != nil:
		return SessionHeld
	}
	return SessionUnmarked
}

// Where a session's roll stands at a moment (RollWindow).
const (
	RollNotStarted = "not_started"
	RollOpen       = "open"
	RollAfterDay   = "after_day"
	RollCancelled  = "cancelled"
)

// RollWindow is where session s's roll stands at now, by the rule of
// checkMarkWindow: cancelled; not started (nothing can be marked yet);
// open (its day, from its start: the teacher marks); or after its day (a
// school admin corrects, with a reason). The console reads it from the
// server rather than the phone's clock.
func RollWindow(s Session, now time.Time) string {
	switch {
	case s.Status == SessionCancelled:
		return RollCancelled
	case now.Before(s.StartsAt()):
		return RollNotStarted
	case LocalDate(now) == s.Date:
		return RollOpen
	}
	return RollAfterDay
}
