package models

import (
	"context"
	"errors"
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

// HistoryRoll is the first roll of a session, taken by By at At.
type HistoryRoll struct {
	Session Session
	By      Actor
	At      time.Time
	Marks   []MarkRecord
}

// WriteHistoryRolls writes the rolls (attendance, its change log and the
// session's roll_taken_at) in one transaction. Each mark is a first mark.
func WriteHistoryRolls(ctx context.Context, db *DB, rolls []HistoryRoll) error {
	if len(rolls) == 0 {
		return nil
	}
	return db.Tx(ctx, func(tx *gorm.DB) error {
		for _, r := range rolls {
			changed := make([]markChange, len(r.Marks))
			for i, m := range r.Marks {
				if !ValidMark(m.Status) {
					return fmt.Errorf("history roll of session %d: mark %q", r.Session.ID, m.Status)
				}
				changed[i] = markChange{student: rollStudent{StudentID: m.StudentID}, to: m.Status}
			}
			for rest := changed; len(rest) > 0; {
				n := min(len(rest), MaxRollRecords)
				if err := writeMarks(tx, r.Session, r.By, rest[:n], "", r.At); err != nil {
					return err
				}
				rest = rest[n:]
			}
			if len(changed) > 0 {
				if err := tx.Exec("UPDATE sessions SET roll_taken_at = ? WHERE id = ? AND roll_taken_at IS NULL",
					r.At.UTC(), r.Session.ID).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
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
// transaction: each parent account (found by openid, else made, as
// LoginWeChat makes it), its phone and links (as BindPhone makes them) and
// the answers not given yet. It answers each answering student's parent
// user id and how many answers it wrote.
func WriteHistoryAnswers(ctx context.Context, db *DB, surveyID int64, answers []HistoryAnswer) (map[int64]int64, int, error) {
	parents := make(map[int64]int64, len(answers))
	written := 0
	if len(answers) == 0 {
		return parents, 0, nil
	}
	defer db.linksChanged()
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		users := map[string]int64{}
		var rows []SurveyResponse
		for _, a := range answers {
			uid, ok := users[a.OpenID]
			if !ok {
				var u User
				err := tx.Where("openid = ?", a.OpenID).First(&u).Error
				switch {
				case errors.Is(err, gorm.ErrRecordNotFound):
					openid, at := a.OpenID, a.At.UTC()
					u = User{Role: RoleParent, OpenID: &openid, DisplayName: "家长", Phone: a.Phone, CreatedAt: at, UpdatedAt: at}
					if err := tx.Create(&u).Error; err != nil {
						return err
					}
				case err != nil:
					return err
				case u.Role != RoleParent:
					return ErrNotParent
				default:
					if err := tx.Model(&u).Updates(map[string]any{"phone": a.Phone, "updated_at": a.At.UTC()}).Error; err != nil {
						return err
					}
				}
				var ids []int64
				if err := tx.Raw(`SELECT DISTINCT g.student_id FROM guardians g JOIN students s ON s.id = g.student_id
					WHERE g.phone = ? AND s.active ORDER BY g.student_id`, a.Phone).Scan(&ids).Error; err != nil {
					return err
				}
				for _, id := range ids {
					if err := linkByPhone(tx, u.ID, id, a.Phone); err != nil {
						return err
					}
				}
				uid, users[a.OpenID] = u.ID, u.ID
			}
			var st Student
			if err := tx.Raw(`SELECT s.* FROM students s JOIN parent_students ps ON ps.student_id = s.id
				WHERE s.id = ? AND ps.user_id = ?`, a.StudentID, uid).Scan(&st).Error; err != nil {
				return err
			}
			if st.ID == 0 {
				continue // the phone does not guard this child
			}
			parents[a.StudentID] = uid
			rows = append(rows, SurveyResponse{SurveyID: surveyID, StudentID: st.ID, SchoolID: st.SchoolID, UserID: uid,
				Support: a.Support, Satisfaction: a.Satisfaction, CreatedAt: a.At.UTC()})
		}
		if len(rows) == 0 {
			return nil
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&rows, 500)
		written = int(res.RowsAffected)
		return res.Error
	})
	return parents, written, err
}
