package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The writers of this file put a seed's history in place set-based — a
// day of it in one transaction — where the operations the API calls would
// take one transaction per roll or per family (server/seed_history.go,
// `kehou seed demo`). They write the same rows those operations write,
// with the times they would have written, but check no rule and tell no
// family: they are for history a seed simulates, never for requests.

// HistoryRoll is the first roll of a session, taken by By at At, and the
// children's dismissals (each with its time), recorded by By at
// DismissedAt.
type HistoryRoll struct {
	Session     Session
	By          Actor
	At          time.Time
	Marks       []MarkRecord
	Dismissals  []DismissalRecord
	DismissedAt time.Time
}

// WriteHistoryRolls writes the rolls (attendance, its change log and the
// session's roll_taken_at) and dismissals (with their history) in one
// transaction: each kind of row with one statement over all the rolls'
// rows (batchRows), as the enrollment batch writes. Each mark and
// dismissal is a first one.
func WriteHistoryRolls(ctx context.Context, db *DB, rolls []HistoryRoll) error {
	if len(rolls) == 0 {
		return nil
	}
	var marks, left historyRows
	for _, r := range rolls {
		for _, m := range r.Marks {
			if !ValidMark(m.Status) {
				return fmt.Errorf("history roll of session %d: mark %q", r.Session.ID, m.Status)
			}
			marks.add(r.Session, m.StudentID, m.Status, r.By.UserID, r.At, r.At)
		}
		for _, d := range r.Dismissals {
			if d.At == nil {
				return fmt.Errorf("history dismissal of session %d: no time", r.Session.ID)
			}
			left.add(r.Session, d.StudentID, d.By, r.By.UserID, *d.At, r.DismissedAt)
		}
	}
	return db.Tx(ctx, func(tx *gorm.DB) error {
		r := rawOf(tx)
		if len(marks.student) > 0 {
			from, args, err := batchRows(r.d, marks.columns())
			if err != nil {
				return err
			}
			if _, err := r.exec(`INSERT INTO attendance (offering_id, student_id, school_id, session_date, status,
				recorded_by, created_at, session_id, updated_at)
				SELECT v.offering_id, v.student_id, v.school_id, v.session_date, v.what, NULLIF(v.actor, 0), v.recorded,
					v.session_id, v.recorded FROM `+from, args...); err != nil {
				return err
			}
			if _, err := r.exec(`INSERT INTO attendance_changes (session_id, student_id, school_id, session_date,
				old_status, new_status, changed_by, reason, changed_at)
				SELECT v.session_id, v.student_id, v.school_id, v.session_date, NULL, v.what, v.actor, '', v.recorded
				FROM `+from, args...); err != nil {
				return err
			}
		}
		if len(left.student) > 0 {
			from, args, err := batchRows(r.d, left.columns())
			if err != nil {
				return err
			}
			if _, err := r.exec(`INSERT INTO dismissals (session_id, student_id, school_id, dismissed_by, dismissed_at,
				recorded_by, created_at)
				SELECT v.session_id, v.student_id, v.school_id, v.what, v.at, v.actor, v.recorded FROM `+from, args...); err != nil {
				return err
			}
			if _, err := r.exec(`INSERT INTO dismissal_changes (session_id, student_id, school_id, session_date,
				old_by, old_at, new_by, new_at, changed_by, reason, changed_at)
				SELECT v.session_id, v.student_id, v.school_id, v.session_date, NULL, NULL, v.what, v.at, v.actor, '', v.recorded
				FROM `+from, args...); err != nil {
				return err
			}
		}
		for _, r := range rolls {
			if len(r.Marks) > 0 {
				if err := tx.Exec("UPDATE sessions SET roll_taken_at = ? WHERE id = ? AND roll_taken_at IS NULL",
					r.At.UTC(), r.Session.ID).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// historyRows are the marks or the dismissals of WriteHistoryRolls, a
// column each: what is the mark, or how the child left at at; recorded is
// when it was recorded, by by.
type historyRows struct {
	offering, student, school, session, by []int64
	date, what                             []string
	at, recorded                           []time.Time
}

func (h *historyRows) add(s Session, student int64, what string, by int64, at, recorded time.Time) {
	h.offering = append(h.offering, s.OfferingID)
	h.student = append(h.student, student)
	h.school = append(h.school, s.SchoolID)
	h.session = append(h.session, s.ID)
	h.by = append(h.by, by)
	h.date = append(h.date, s.Date)
	h.what = append(h.what, what)
	h.at = append(h.at, at.UTC())
	h.recorded = append(h.recorded, recorded.UTC())
}

func (h *historyRows) columns() []batchColumn {
	return []batchColumn{{"offering_id", "BIGINT", h.offering}, {"student_id", "BIGINT", h.student},
		{"school_id", "BIGINT", h.school}, {"session_id", "BIGINT", h.session}, {"actor", "BIGINT", h.by},
		{"session_date", "TEXT", h.date}, {"what", "TEXT", h.what}, {"at", "TIMESTAMPTZ", h.at},
		{"recorded", "TIMESTAMPTZ", h.recorded}}
}

// HistoryAnswer is a family's survey answer: the parent logs in with
// WeChat (OpenID), proves Phone (which links the children it guards) and
// answers for StudentID at At.
type HistoryAnswer struct {
	OpenID, Phone         string
	StudentID             int64
	Support, Satisfaction string
	At                    time.Time
}

// WriteHistoryAnswers writes the answers of survey surveyID in one
// transaction, set-based: the parent accounts not made yet (as LoginWeChat
// makes them, with the phone BindPhone records), their links to the
// children their phone guards (as BindPhone makes them), and the answers
// of linked children not given yet. It answers each answering student's
// parent user id and how many answers it wrote.
func WriteHistoryAnswers(ctx context.Context, db *DB, surveyID int64, answers []HistoryAnswer) (map[int64]int64, int, error) {
	parents := make(map[int64]int64, len(answers))
	written := 0
	if len(answers) == 0 {
		return parents, 0, nil
	}
	defer db.linksChanged()
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		ps := make([]HistoryParent, len(answers))
		for i, a := range answers {
			ps[i] = HistoryParent{OpenID: a.OpenID, Phone: a.Phone, At: a.At}
		}
		users, linked, err := writeHistoryParents(tx, ps)
		if err != nil {
			return err
		}
		var rows []SurveyResponse
		for _, a := range answers {
			uid := users[a.OpenID]
			school, ok := linked[[2]int64{uid, a.StudentID}]
			if !ok {
				continue // the phone does not guard this child
			}
			parents[a.StudentID] = uid
			rows = append(rows, SurveyResponse{SurveyID: surveyID, StudentID: a.StudentID, SchoolID: school, UserID: uid,
				Support: a.Support, Satisfaction: a.Satisfaction, CreatedAt: a.At.UTC()})
		}
		if len(rows) == 0 {
			return nil
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&rows, 500)
		if res.Error != nil {
			return res.Error
		}
		written = int(res.RowsAffected)
		return nil
	})
	return parents, written, err
}

// HistoryParent is a parent who logs in with WeChat (OpenID) at At and
// proves Phone, which links the children it guards.
type HistoryParent struct {
	OpenID, Phone string
	At            time.Time
}

// WriteHistoryParents makes, in one transaction, the parent accounts of ps
// not made yet (as LoginWeChat makes them, with the phone BindPhone
// records) and their links to the children their phones guard (as
// BindPhone makes them). It answers each openid's user id.
func WriteHistoryParents(ctx context.Context, db *DB, ps []HistoryParent) (map[string]int64, error) {
	var users map[string]int64
	if len(ps) == 0 {
		return map[string]int64{}, nil
	}
	defer db.linksChanged()
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		users, _, err = writeHistoryParents(tx, ps)
		return err
	})
	return users, err
}

// writeHistoryParents is WriteHistoryParents inside tx; it answers the
// user id of each openid and, per (user, student) link, the student's
// school.
func writeHistoryParents(tx *gorm.DB, ps []HistoryParent) (map[string]int64, map[[2]int64]int64, error) {
	var openids []string
	first := map[string]HistoryParent{}
	for _, a := range ps {
		if _, ok := first[a.OpenID]; !ok {
			first[a.OpenID] = a
			openids = append(openids, a.OpenID)
		}
	}
	users := make(map[string]int64, len(openids))
	find := func() error {
		for rest := openids; len(rest) > 0; {
			n := min(len(rest), 500)
			var us []User
			if err := tx.Where("openid IN ?", rest[:n]).Find(&us).Error; err != nil {
				return err
			}
			for _, u := range us {
				if u.Role != RoleParent {
					return ErrNotParent
				}
				users[*u.OpenID] = u.ID
			}
			rest = rest[n:]
		}
		return nil
	}
	if err := find(); err != nil {
		return nil, nil, err
	}
	var made []User
	for _, o := range openids {
		if _, ok := users[o]; !ok {
			a := first[o]
			openid, at := o, a.At.UTC()
			made = append(made, User{Role: RoleParent, OpenID: &openid, DisplayName: "家长", Phone: a.Phone, CreatedAt: at, UpdatedAt: at})
		}
	}
	if len(made) > 0 {
		if err := tx.CreateInBatches(&made, 500).Error; err != nil {
			return nil, nil, err
		}
		if err := find(); err != nil {
			return nil, nil, err
		}
	}
	ids := make([]int64, 0, len(users))
	for _, id := range users {
		ids = append(ids, id)
	}
	type link struct{ UserID, StudentID, SchoolID int64 }
	linked := map[[2]int64]int64{} // (user, student) → the student's school
	for rest := ids; len(rest) > 0; {
		n := min(len(rest), 500)
		if err := tx.Exec(`INSERT INTO parent_students (user_id, student_id, via, phone, created_at)
			SELECT DISTINCT u.id, g.student_id, 'phone', u.phone, u.updated_at FROM users u
			JOIN guardians g ON g.phone = u.phone JOIN students s ON s.id = g.student_id AND s.active
			WHERE u.id IN ? ON CONFLICT DO NOTHING`, rest[:n]).Error; err != nil {
			return nil, nil, err
		}
		var ls []link
		if err := tx.Raw(`SELECT ps.user_id, ps.student_id, s.school_id FROM parent_students ps
			JOIN students s ON s.id = ps.student_id WHERE ps.user_id IN ?`, rest[:n]).Scan(&ls).Error; err != nil {
			return nil, nil, err
		}
		for _, l := range ls {
			linked[[2]int64{l.UserID, l.StudentID}] = l.SchoolID
		}
		rest = rest[n:]
	}
	return users, linked, nil
}

// ReadHistoryRolls are the rolls of sessions ss, all of one date, as
// FindRoll reads each, for a seed writing history: two statements for the
// day (who is on each roll with marks and dismissals, as rollStudents reads
// one; the leave covering that date) rather than two a session; no scope
// check (the seed is the shell) and no entry in the staff access log, since
// no member of staff read them. They are answered in the order of ss.
func ReadHistoryRolls(ctx context.Context, db *DB, ss []SessionView) ([]Roll, error) {
	if len(ss) == 0 {
		return nil, nil
	}
	date := ss[0].Date
	ids := make([]int64, len(ss))
	for i, s := range ss {
		if s.Date != date {
			return nil, fmt.Errorf("history rolls: sessions of %s and %s", date, s.Date)
		}
		ids[i] = s.ID
	}
	r := db.Read(ctx)
	on := make(map[int64][]rollStudent, len(ss))
	rows, err := r.Raw(`SELECT x.session_id, st.id, st.student_no, st.name, st.grade, st.class_name, a.status,
			d.dismissed_by, d.dismissed_at
		FROM (SELECT s.id AS session_id, e.student_id FROM sessions s JOIN enrollments e ON e.offering_id = s.offering_id
				AND e.status = ? AND COALESCE(e.enrolled_at, e.updated_at) < ? WHERE s.id IN ?
			UNION SELECT m.session_id, m.student_id FROM attendance m WHERE m.session_id IN ?) x
		JOIN students st ON st.id = x.student_id
		LEFT JOIN attendance a ON a.session_id = x.session_id AND a.student_id = st.id
		LEFT JOIN dismissals d ON d.session_id = x.session_id AND d.student_id = st.id
		ORDER BY x.session_id, st.grade, st.class_name, st.student_no, st.id`,
		StatusEnrolled, at(date, 24*60).UTC(), ids, ids).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var sid int64
		var x rollStudent
		if err := rows.Scan(&sid, &x.StudentID, &x.StudentNo, &x.Name, &x.Grade, &x.ClassName, &x.Mark, &x.DismissedBy, &x.DismissedAt); err != nil {
			return nil, err
		}
		on[sid] = append(on[sid], x)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var ls []LeaveRequest
	if err := r.Where("status = ? AND from_date <= ? AND to_date >= ?", LeaveActive, date, date).Order("id").Find(&ls).Error; err != nil {
		return nil, err
	}
	out := make([]Roll, len(ss))
	for i, s := range ss {
		leaves := map[int64]LeaveRequest{}
		for _, l := range ls {
			if _, seen := leaves[l.StudentID]; !seen && l.Covers(s.OfferingID, date) {
				leaves[l.StudentID] = l
			}
		}
		out[i] = rollOf(s, on[s.ID], leaves)
	}
	return out, nil
}
