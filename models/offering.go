package models

import (
	"context"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Offering statuses, kinds and modes.
const (
	OfferingDraft     = "draft"
	OfferingPublished = "published"
	OfferingClosed    = "closed"
	OfferingCancelled = "cancelled"

	KindBasic = "basic"
	KindClub  = "club"

	ModeFCFS    = "fcfs"
	ModeLottery = "lottery"
)

// MaxCapacity bounds an offering's capacity (a sanity limit: the largest
// after-school groups are a few hundred).
const MaxCapacity = 2000

// Offering is an after-school offering of a term: the base service (basic)
// or a club. Weekdays and Grades are bit masks (bit n = weekday/grade n);
// StartMin/EndMin are minutes after midnight, Asia/Shanghai.
type Offering struct {
	ID              int64      `gorm:"primaryKey"`
	SchoolID        int64      `gorm:"column:school_id"`
	TermID          int64      `gorm:"column:term_id"`
	Kind            string     `gorm:"column:kind"`
	Name            string     `gorm:"column:name"`
	Category        string     `gorm:"column:category"`
	Description     string     `gorm:"column:description"`
	Teacher         string     `gorm:"column:teacher"`
	TeacherUserID   *int64     `gorm:"column:teacher_user_id"` // the teacher who takes the roll
	Venue           string     `gorm:"column:venue"`
	Weekdays        int        `gorm:"column:weekdays"`
	StartMin        int        `gorm:"column:start_min"`
	EndMin          int        `gorm:"column:end_min"`
	Capacity        int        `gorm:"column:capacity"`
	Grades          int        `gorm:"column:grades"`
	FeeFen          int64      `gorm:"column:fee_fen"`
	Billing         string     `gorm:"column:billing"` // the unit FeeFen is per (fee.go)
	Mode            string     `gorm:"column:mode"`
	Waitlist        bool       `gorm:"column:waitlist"`
	EnrollOpensAt   time.Time  `gorm:"column:enroll_opens_at"`
	EnrollClosesAt  time.Time  `gorm:"column:enroll_closes_at"`
	Status          string     `gorm:"column:status"`
	EnrolledCount   int        `gorm:"column:enrolled_count"`
	WaitlistedCount int        `gorm:"column:waitlisted_count"`
	AppliedCount    int        `gorm:"column:applied_count"`
	DrawnAt         *time.Time `gorm:"column:drawn_at"`
	DrawID          *int64     `gorm:"column:draw_id"`
	// LotterySeed is secret until the draw (RevealedSeed); SeedSHA256 is
	// its public commitment (lottery_seed.go).
	LotterySeed *string   `gorm:"column:lottery_seed"`
	SeedSHA256  *string   `gorm:"column:seed_sha256"`
	CreatedAt   time.Time `gorm:"column:created_at"`
	UpdatedAt   time.Time `gorm:"column:updated_at"`
}

// Remaining is the number of free seats.
func (o Offering) Remaining() int {
	if r := o.Capacity - o.EnrolledCount; r > 0 {
		return r
	}
	return 0
}

// Overlaps reports whether two weekly slots share a weekday and a minute.
func Overlaps(w1, s1, e1, w2, s2, e2 int) bool {
	return w1&w2 != 0 && s1 < e2 && s2 < e1
}

// Mask turns a list of small numbers (weekdays 1–5, grades 1–9) into a bit
// mask; ok is false for a number out of [lo, hi] or a repeat.
func Mask(ns []int, lo, hi int) (mask int, ok bool) {
	for _, n := range ns {
		if n < lo || n > hi || mask&(1<<n) != 0 {
			return 0, false
		}
		mask |= 1 << n
	}
	return mask, len(ns) > 0
}

// Unmask lists the numbers set in mask, ascending.
func Unmask(mask int) []int {
	out := make([]int, 0, bits.OnesCount(uint(mask)))
	for n := 0; n < 31; n++ {
		if mask&(1<<n) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// ParseClock parses "HH:MM" into minutes after midnight.
func ParseClock(s string) (int, bool) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

// FormatClock formats minutes after midnight as "HH:MM".
func FormatClock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// NewOffering is the input of CreateOffering (times already parsed by the
// edge where they are malformed; see OfferingFields).
type NewOffering struct {
	TermID         int64
	Kind           string
	Name           string
	Category       string
	Description    string
	Teacher        string
	TeacherUserID  *int64 // the teacher who takes the roll (nil: none)
	Venue          string
	Weekdays       []int
	StartTime      string
	EndTime        string
	Capacity       int
	Grades         []int
	FeeFen         int64
	Billing        string // term (default), month or session
	Mode           string
	Waitlist       *bool
	EnrollOpensAt  *time.Time
	EnrollClosesAt *time.Time
}

// UpdateOffering is the input of PatchOffering: nil fields stay as they are.
type UpdateOffering struct {
	TermID         *int64
	Kind           *string
	Name           *string
	Category       *string
	Description    *string
	Teacher        *string
	TeacherUserID  *int64 // nil leaves it, 0 clears it, else names the teacher
	Venue          *string
	Weekdays       *[]int
	StartTime      *string
	EndTime        *string
	Capacity       *int
	Grades         *[]int
	FeeFen         *int64
	Billing        *string
	Mode           *string
	Waitlist       *bool
	EnrollOpensAt  *time.Time
	EnrollClosesAt *time.Time
	// Force keeps a change of a published offering's time, weekdays or
	// grades that breaks a rule for students already in it; their families
	// are told (see offering_change.go).
	Force bool
}

// validateOffering checks o's fields as a whole (after create or patch).
func validateOffering(v *Validator, o *Offering, weekdays, grades []int, start, end string) {
	o.Name = strings.TrimSpace(o.Name)
	v.Check(ValidName(o.Name, 100), "name", "名称必填，最多100个字符，不能含控制字符或不可见字符")
	v.Check(o.Kind == KindBasic || o.Kind == KindClub, "kind", "类型须为 basic 或 club")
	v.Check(o.Mode == ModeFCFS || o.Mode == ModeLottery, "mode", "报名方式须为 fcfs 或 lottery")
	if code, ok := ParseCategory(o.Category); ok {
		o.Category = code
	} else {
		v.Check(false, "category", categoryHint)
	}
	v.Check(len([]rune(o.Description)) <= 2000, "description", "简介最多2000个字符")
	v.Check(len([]rune(o.Teacher)) <= 50 && PlainText(o.Teacher), "teacher", "教师最多50个字符，不能含控制字符或不可见字符")
	v.Check(len([]rune(o.Venue)) <= 100 && PlainText(o.Venue), "venue", "地点最多100个字符，不能含控制字符或不可见字符")
	if weekdays != nil {
		m, ok := Mask(weekdays, 1, 5)
		v.Check(ok, "weekdays", "上课日须为1-5（周一至周五）且不重复")
		o.Weekdays = m
	}
	if grades != nil {
		m, ok := Mask(grades, 1, 9)
		v.Check(ok, "grades", "年级须为1-9且不重复")
		o.Grades = m
	}
	v.Check(o.Weekdays != 0, "weekdays", "上课日必填")
	v.Check(o.Grades != 0, "grades", "年级必填")
	if start != "" {
		m, ok := ParseClock(start)
		v.Check(ok, "start_time", "开始时间须为 HH:MM")
		o.StartMin = m
	}
	if end != "" {
		m, ok := ParseClock(end)
		v.Check(ok, "end_time", "结束时间须为 HH:MM")
		o.EndMin = m
	}
	v.Check(o.EndMin > o.StartMin, "end_time", "结束时间须晚于开始时间")
	v.Check(o.Capacity >= 1 && o.Capacity <= MaxCapacity, "capacity", fmt.Sprintf("名额须为1-%d", MaxCapacity))
	v.Check(o.FeeFen >= 0 && o.FeeFen <= 100_000_000, "fee_fen", "费用须为0-100000000分")
	v.Check(ValidBilling(o.Billing), "billing", "计费单位须为 term、month 或 session")
	v.Check(!o.EnrollOpensAt.IsZero(), "enroll_opens_at", "报名开始时间必填")
	v.Check(!o.EnrollClosesAt.IsZero(), "enroll_closes_at", "报名截止时间必填")
	v.Check(o.EnrollClosesAt.After(o.EnrollOpensAt), "enroll_closes_at", "报名截止时间须晚于开始时间")
}

// CreateOffering creates a draft offering of schoolID (its school admin or a
// platform admin). The term must belong to the school.
func CreateOffering(ctx context.Context, db *DB, a Actor, schoolID int64, in NewOffering) (Offering, error) {
	if err := requireManage(ctx, db, a, schoolID); err != nil {
		return Offering{}, err
	}
	o := Offering{SchoolID: schoolID, TermID: in.TermID, Kind: in.Kind, Name: in.Name, Category: strings.TrimSpace(in.Category),
		Description: in.Description, Teacher: strings.TrimSpace(in.Teacher), Venue: strings.TrimSpace(in.Venue),
		Capacity: in.Capacity, FeeFen: in.FeeFen, Billing: in.Billing, Mode: in.Mode, Waitlist: true, Status: OfferingDraft}
	if o.Billing == "" {
		o.Billing = BillingTerm
	}
	if o.Mode == "" {
		o.Mode = ModeFCFS
	}
	if o.Category == "" {
		o.Category = defaultCategory(o.Kind)
	}
	if in.Waitlist != nil {
		o.Waitlist = *in.Waitlist
	}
	if in.EnrollOpensAt != nil {
		o.EnrollOpensAt = in.EnrollOpensAt.UTC()
	}
	if in.EnrollClosesAt != nil {
		o.EnrollClosesAt = in.EnrollClosesAt.UTC()
	}
	var v Validator
	weekdays, grades := in.Weekdays, in.Grades
	if weekdays == nil {
		weekdays = []int{}
	}
	if grades == nil {
		grades = []int{}
	}
	if in.TeacherUserID != nil {
		if err := checkTeacherOf(db.Read(ctx), &v, schoolID, *in.TeacherUserID); err != nil {
			return Offering{}, err
		}
		o.TeacherUserID = in.TeacherUserID
	}
	v.Check(in.StartTime != "", "start_time", "开始时间必填")
	v.Check(in.EndTime != "", "end_time", "结束时间必填")
	validateOffering(&v, &o, weekdays, grades, in.StartTime, in.EndTime)
	t, err := checkTermOf(ctx, db, &v, schoolID, in.TermID)
	if err != nil {
		return Offering{}, err
	}
	checkWindowInTerm(&v, o.EnrollOpensAt, o.EnrollClosesAt, t)
	if err := v.Err(); err != nil {
		return Offering{}, err
	}
	err = db.Tx(ctx, func(tx *gorm.DB) error { return tx.Create(&o).Error })
	return o, err
}

// checkTermOf records a field error unless termID is a term of schoolID,
// and answers the term (zero when it is not one).
func checkTermOf(ctx context.Context, db *DB, v *Validator, schoolID, termID int64) (Term, error) {
	if termID <= 0 {
		v.Check(false, "term_id", "学期必填")
		return Term{}, nil
	}
	t, err := FindTermByID(ctx, db, termID)
	if err != nil && err != ErrNotFound {
		return Term{}, err
	}
	ok := err == nil && t.SchoolID == schoolID
	v.Check(ok, "term_id", "学期不存在或不属于该学校")
	if !ok {
		return Term{}, nil
	}
	return t, nil
}

// checkTeacherOf records a field error unless userID is an enabled teacher
// of schoolID.
func checkTeacherOf(q *gorm.DB, v *Validator, schoolID, userID int64) error {
	var n int64
	err := q.Raw("SELECT COUNT(*) FROM users WHERE id = ? AND role = ? AND school_id = ? AND disabled = ?",
		userID, RoleTeacher, schoolID, false).Scan(&n).Error
	if err != nil {
		return err
	}
	v.Check(n == 1, "teacher_user_id", "任课教师须为本校的教师账号")
	return nil
}

// FindOfferingByID loads one offering, with no scope check.
func FindOfferingByID(ctx context.Context, db *DB, id int64) (Offering, error) {
	var o Offering
	err := db.Read(ctx).First(&o, id).Error
	return o, notFound(err)
}

// FindOfferingFor loads offering id if a may see it: staff in scope of its
// school (any status), or a parent with a child in its school (published
// and closed only; cancelled too when a child of theirs was enrolled in
// it). Anyone else gets ErrNotFound.
func FindOfferingFor(ctx context.Context, db *DB, a Actor, id int64) (Offering, error) {
	o, err := FindOfferingByID(ctx, db, id)
	if err != nil {
		return Offering{}, err
	}
	staff, err := canSeeSchoolOfferings(ctx, db, a, o.SchoolID)
	if err != nil {
		return Offering{}, err
	}
	if !staff && !parentVisible(o.Status) {
		// A cancelled club stays readable to its former families: they
		// must see what happened to it, and its past sessions.
		if o.Status != OfferingCancelled {
			return Offering{}, ErrNotFound
		}
		var n int64
		if err := db.Read(ctx).Raw(`SELECT COUNT(*) FROM enrollments e JOIN parent_students ps ON ps.student_id = e.student_id
			WHERE ps.user_id = ? AND e.offering_id = ?`, a.UserID, id).Scan(&n).Error; err != nil {
			return Offering{}, err
		}
		if n == 0 {
			return Offering{}, ErrNotFound
		}
	}
	return o, nil
}

func parentVisible(status string) bool {
	return status == OfferingPublished || status == OfferingClosed
}

// OfferingFilter narrows FindOfferings; zero fields do not filter.
type OfferingFilter struct {
	TermID int64
	Kind   string
	Grade  int
}

// maxOfferingList bounds one school's list of offerings (all its terms): a
// sanity limit far above what a school runs in years.
const maxOfferingList = 20000

// FindOfferings lists the offerings of schoolID for a (see FindOfferingFor
// for who sees what), in one query: the counters live on the row.
func FindOfferings(ctx context.Context, db *DB, a Actor, schoolID int64, f OfferingFilter) ([]Offering, error) {
	staff, err := canSeeSchoolOfferings(ctx, db, a, schoolID)
	if err != nil {
		return nil, err
	}
	q := db.Read(ctx).Where("school_id = ?", schoolID)
	if !staff {
		q = q.Where("status IN ?", []string{OfferingPublished, OfferingClosed})
	}
	if f.TermID != 0 {
		q = q.Where("term_id = ?", f.TermID)
	}
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	if f.Grade != 0 {
		q = q.Where("(grades & ?) <> 0", 1<<f.Grade)
	}
	out := []Offering{}
	err = q.Order("term_id DESC, kind, start_min, id").Limit(maxOfferingList).Find(&out).Error
	return out, err
}
