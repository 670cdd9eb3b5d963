package models

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// The answers of a survey's standard questions.
const (
	SupportSupport = "support"
	SupportNeutral = "neutral"
	SupportOppose  = "oppose"

	Satisfied          = "satisfied"
	BasicallySatisfied = "basically_satisfied"
	Unsatisfied        = "unsatisfied"
)

// MaxSurveyComment is the longest free-text comment, in runes.
const MaxSurveyComment = 500

// Survey is a parent survey published by a bureau (for its region subtree)
// or by a school.
type Survey struct {
	ID        int64     `gorm:"primaryKey"`
	RegionID  *int64    `gorm:"column:region_id"`
	SchoolID  *int64    `gorm:"column:school_id"`
	TermID    *int64    `gorm:"column:term_id"`
	Title     string    `gorm:"column:title"`
	OpensAt   time.Time `gorm:"column:opens_at"`
	ClosesAt  time.Time `gorm:"column:closes_at"`
	OpensOn   string    `gorm:"column:opens_on"`
	CreatedBy int64     `gorm:"column:created_by"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

// IsOpen reports whether s accepts responses at now: opens_at <= now < closes_at.
func (s Survey) IsOpen(now time.Time) bool {
	return !now.Before(s.OpensAt) && now.Before(s.ClosesAt)
}

// SurveyResponse is one guardian's answer for one student.
type SurveyResponse struct {
	ID           int64     `gorm:"primaryKey"`
	SurveyID     int64     `gorm:"column:survey_id"`
	StudentID    int64     `gorm:"column:student_id"`
	SchoolID     int64     `gorm:"column:school_id"`
	UserID       int64     `gorm:"column:user_id"`
	Support      string    `gorm:"column:support"`
	Satisfaction string    `gorm:"column:satisfaction"`
	Comment      string    `gorm:"column:comment"`
	CreatedAt    time.Time `gorm:"column:created_at"`
}

// NewSurvey is the input of CreateSurvey: exactly one of RegionID, SchoolID.
type NewSurvey struct {
	RegionID *int64
	SchoolID *int64
	TermID   *int64
	Title    string
	OpensAt  time.Time
	ClosesAt time.Time
}

// CreateSurvey publishes a survey. A bureau admin publishes for a region in
// its subtree, a school admin for its own school; a target outside the
// caller's scope is ErrNotFound. TermID, if given, must be a term of the
// survey's school (terms are per school, so a region survey has none).
func CreateSurvey(ctx context.Context, db *DB, a Actor, in NewSurvey) (Survey, error) {
	if a.Role != RoleBureauAdmin && a.Role != RoleSchoolAdmin {
		return Survey{}, ErrForbidden
	}
	var v Validator
	in.Title = strings.TrimSpace(in.Title)
	n := utf8.RuneCountInString(in.Title)
	v.Check(n >= 1 && n <= 100, "title", "标题必填，最多100个字符")
	v.Check((in.RegionID == nil) != (in.SchoolID == nil), "region_id", "region_id 与 school_id 须且只能填一个")
	v.Check(!in.OpensAt.IsZero(), "opens_at", "开始时间必填")
	v.Check(!in.ClosesAt.IsZero(), "closes_at", "结束时间必填")
	v.Check(in.ClosesAt.After(in.OpensAt), "closes_at", "结束时间须晚于开始时间")
	v.Check(in.TermID == nil || in.SchoolID != nil, "term_id", "只有学校问卷可以指定学期")
	if err := v.Err(); err != nil {
		return Survey{}, err
	}
	if in.RegionID != nil {
		ok, err := RegionInScope(ctx, db, a, *in.RegionID)
		if err != nil {
			return Survey{}, err
		}
		if !ok {
			return Survey{}, ErrNotFound
		}
	} else if a.Role != RoleSchoolAdmin || a.SchoolID != *in.SchoolID {
		return Survey{}, ErrNotFound
	}
	s := Survey{RegionID: in.RegionID, SchoolID: in.SchoolID, TermID: in.TermID, Title: in.Title,
		OpensAt: in.OpensAt.UTC(), ClosesAt: in.ClosesAt.UTC(),
		OpensOn: in.OpensAt.In(Zone).Format(time.DateOnly), CreatedBy: a.UserID}
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if in.TermID != nil {
			var n int64
			if err := tx.Raw("SELECT COUNT(*) FROM terms WHERE id = ? AND school_id = ?", *in.TermID, *in.SchoolID).
				Scan(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return &ValidationError{Fields: map[string]string{"term_id": "学期不存在"}}
			}
		}
		return tx.Create(&s).Error
	})
	return s, err
}

// FindSurveyByID loads one survey, with no scope check.
func FindSurveyByID(ctx context.Context, db *DB, id int64) (Survey, error) {
	var s Survey
	err := db.Read(ctx).First(&s, id).Error
	return s, notFound(err)
}

// ParentSurvey is an open survey as a parent sees it: which of the parent's
// children it concerns, and which of them already have an answer.
type ParentSurvey struct {
	Survey
	StudentIDs   []int64
	RespondedIDs []int64
}

// surveyConcernsStudent is the SQL condition "survey sv concerns the student
// st of school sc in region r": the school's own survey, or a survey of any
// region on the path of the school's region.
const surveyConcernsStudent = `(sv.school_id = st.school_id OR (sv.region_id IS NOT NULL AND r.path LIKE '%/' || sv.region_id || '/%'))`

// OpenSurveysForParent lists the surveys open at now that concern at least
// one of parent userID's linked children.
func OpenSurveysForParent(ctx context.Context, db *DB, userID int64, now time.Time) ([]ParentSurvey, error) {
	type row struct {
		Survey
		StudentID int64 `gorm:"column:student_id"`
		Responded bool  `gorm:"column:responded"`
	}
	var rows []row
	err := db.Read(ctx).Raw(`SELECT sv.*, st.id AS student_id,
			EXISTS (SELECT 1 FROM survey_responses x WHERE x.survey_id = sv.id AND x.student_id = st.id) AS responded
		FROM parent_students ps
		JOIN students st ON st.id = ps.student_id
		JOIN schools sc ON sc.id = st.school_id
		JOIN regions r ON r.id = sc.region_id
		JOIN surveys sv ON `+surveyConcernsStudent+`
		WHERE ps.user_id = ? AND sv.opens_at <= ? AND sv.closes_at > ?
		ORDER BY sv.closes_at, sv.id, st.id`, userID, now.UTC(), now.UTC()).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := []ParentSurvey{}
	for _, r := range rows {
		if len(out) == 0 || out[len(out)-1].ID != r.ID {
			out = append(out, ParentSurvey{Survey: r.Survey, StudentIDs: []int64{}, RespondedIDs: []int64{}})
		}
		p := &out[len(out)-1]
		p.StudentIDs = append(p.StudentIDs, r.StudentID)
		if r.Responded {
			p.RespondedIDs = append(p.RespondedIDs, r.StudentID)
		}
	}
	return out, nil
}

// FindSurveysForStaff lists, by id after `after`, the surveys in staff actor
// a's scope: a bureau admin's are those of regions in its subtree and of its
// schools; a school's staff see their school's and those of the regions
// above it; a platform admin sees all.
func FindSurveysForStaff(ctx context.Context, db *DB, a Actor, after int64, limit int) ([]Survey, error) {
	q := db.Read(ctx).Table("surveys sv").Select("sv.*").Where("sv.id > ?", after).Order("sv.id").Limit(limit)
	switch a.Role {
	case RolePlatformAdmin:
	case RoleBureauAdmin:
		path, err := RegionPath(ctx, db, a.RegionID)
		if err != nil {
			return nil, err
		}
		q = q.Where(`sv.region_id IN (SELECT id FROM regions WHERE path LIKE ?)
			OR sv.school_id IN (SELECT s.id FROM schools s JOIN regions r ON r.id = s.region_id WHERE r.path LIKE ?)`,
			regionSubtreePattern(path), regionSubtreePattern(path))
	case RoleSchoolAdmin, RoleTeacher:
		q = q.Where(`sv.school_id = ? OR sv.region_id IN (SELECT ar.id FROM schools s JOIN regions r ON r.id = s.region_id
			JOIN regions ar ON r.path LIKE ar.path || '%' WHERE s.id = ?)`, a.SchoolID, a.SchoolID)
	default:
		return nil, ErrForbidden
	}
	var out []Survey
	err := q.Scan(&out).Error
	return out, err
}

// NewSurveyResponse is the input of RespondSurvey.
type NewSurveyResponse struct {
	SurveyID     int64
	StudentID    int64
	Support      string
	Satisfaction string
	Comment      string
}

// ValidateSurveyResponse checks the shape of a response.
func ValidateSurveyResponse(in NewSurveyResponse) error {
	var v Validator
	v.Check(in.StudentID > 0, "student_id", "student_id 必填")
	v.Check(in.Support == SupportSupport || in.Support == SupportNeutral || in.Support == SupportOppose,
		"support", "support 须为 support、neutral 或 oppose")
	v.Check(in.Satisfaction == Satisfied || in.Satisfaction == BasicallySatisfied || in.Satisfaction == Unsatisfied,
		"satisfaction", "satisfaction 须为 satisfied、basically_satisfied 或 unsatisfied")
	v.Check(utf8.RuneCountInString(in.Comment) <= MaxSurveyComment, "comment", "意见最多500个字符")
	return v.Err()
}

// RespondSurvey records parent a's answer for one of its children. The
// student must be linked to a and concerned by the survey (else
// ErrNotFound), the survey open at now (else ErrSurveyClosed), and not yet
// answered for this student (else ErrAlreadyResponded).
func RespondSurvey(ctx context.Context, db *DB, a Actor, in NewSurveyResponse, now time.Time) (SurveyResponse, error) {
	in.Comment = strings.TrimSpace(in.Comment)
	if err := ValidateSurveyResponse(in); err != nil {
		return SurveyResponse{}, err
	}
	if a.Role != RoleParent {
		return SurveyResponse{}, ErrForbidden
	}
	sv, err := FindSurveyByID(ctx, db, in.SurveyID)
	if err != nil {
		return SurveyResponse{}, err
	}
	st, err := FindStudentFor(ctx, db, a, in.StudentID)
	if err != nil {
		return SurveyResponse{}, err
	}
	var concerned int64
	if err := db.Read(ctx).Raw(`SELECT COUNT(*) FROM surveys sv, students st
		JOIN schools sc ON sc.id = st.school_id JOIN regions r ON r.id = sc.region_id
		WHERE sv.id = ? AND st.id = ? AND `+surveyConcernsStudent, sv.ID, st.ID).Scan(&concerned).Error; err != nil {
		return SurveyResponse{}, err
	}
	if concerned == 0 {
		return SurveyResponse{}, ErrNotFound
	}
	if !sv.IsOpen(now) {
		return SurveyResponse{}, ErrSurveyClosed
	}
	r := SurveyResponse{SurveyID: sv.ID, StudentID: st.ID, SchoolID: st.SchoolID, UserID: a.UserID,
		Support: in.Support, Satisfaction: in.Satisfaction, Comment: in.Comment, CreatedAt: now.UTC()}
	err = db.Tx(ctx, func(tx *gorm.DB) error { return tx.Create(&r).Error })
	if isUniqueViolation(err) || errors.Is(err, gorm.ErrDuplicatedKey) {
		return SurveyResponse{}, ErrAlreadyResponded
	}
	return r, err
}
