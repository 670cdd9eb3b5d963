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
	Venue           string     `gorm:"column:venue"`
	Weekdays        int        `gorm:"column:weekdays"`
	StartMin        int        `gorm:"column:start_min"`
	EndMin          int        `gorm:"column:end_min"`
	Capacity        int        `gorm:"column:capacity"`
	Grades          int        `gorm:"column:grades"`
	FeeFen          int64      `gorm:"column:fee_fen"`
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
	CreatedAt       time.Time  `gorm:"column:created_at"`
	UpdatedAt       time.Time  `gorm:"column:updated_at"`
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
	Venue          string
	Weekdays       []int
	StartTime      string
	EndTime        string
	Capacity       int
	Grades         []int
	FeeFen         int64
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
	Venue          *string
	Weekdays       *[]int
	StartTime      *string
	EndTime        *string
	Capacity       *int
	Grades         *[]int
	FeeFen         *int64
	Mode           *string
	Waitlist       *bool
	EnrollOpensAt  *time.Time
	EnrollClosesAt *time.Time
}

// validateOffering checks o's fields as a whole (after create or patch).
func validateOffering(v *Validator, o *Offering, weekdays, grades []int, start, end string) {
	o.Name = strings.TrimSpace(o.Name)
	v.Check(o.Name != "" && len([]rune(o.Name)) <= 100, "name", "名称必填，最多100个字符")
	v.Check(o.Kind == KindBasic || o.Kind == KindClub, "kind", "类型须为 basic 或 club")
	v.Check(o.Mode == ModeFCFS || o.Mode == ModeLottery, "mode", "报名方式须为 fcfs 或 lottery")
	v.Check(len([]rune(o.Category)) <= 32, "category", "类别最多32个字符")
	v.Check(len([]rune(o.Description)) <= 2000, "description", "简介最多2000个字符")
	v.Check(len([]rune(o.Teacher)) <= 50, "teacher", "教师最多50个字符")
	v.Check(len([]rune(o.Venue)) <= 100, "venue", "地点最多100个字符")
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
		Capacity: in.Capacity, FeeFen: in.FeeFen, Mode: in.Mode, Waitlist: true, Status: OfferingDraft}
	if o.Mode == "" {
		o.Mode = ModeFCFS
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
	v.Check(in.StartTime != "", "start_time", "开始时间必填")
	v.Check(in.EndTime != "", "end_time", "结束时间必填")
	validateOffering(&v, &o, weekdays, grades, in.StartTime, in.EndTime)
	if err := checkTermOf(ctx, db, &v, schoolID, in.TermID); err != nil {
		return Offering{}, err
	}
	if err := v.Err(); err != nil {
		return Offering{}, err
	}
	err := db.Tx(ctx, func(tx *gorm.DB) error { return tx.Create(&o).Error })
	return o, err
}

// checkTermOf records a field error unless termID is a term of schoolID.
func checkTermOf(ctx context.Context, db *DB, v *Validator, schoolID, termID int64) error {
	if termID <= 0 {
		v.Check(false, "term_id", "学期必填")
		return nil
	}
	t, err := FindTermByID(ctx, db, termID)
	if err != nil && err != ErrNotFound {
		return err
	}
	v.Check(err == nil && t.SchoolID == schoolID, "term_id", "学期不存在或不属于该学校")
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
// and closed only). Anyone else gets ErrNotFound.
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
		return Offering{}, ErrNotFound
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
	err = q.Order("term_id DESC, kind, start_min, id").Limit(1000).Find(&out).Error
	return out, err
}

// ErrInvalidStatus is returned for a lifecycle step the offering's status
// does not allow.
var ErrInvalidStatus = E(KindConflict, "invalid_status", "当前状态不允许此操作")

// PatchOffering changes the fields of in that are set (school admin or
// platform admin). Capacity cannot drop below the seats taken; term and mode
// cannot change once published; a cancelled offering cannot change. Raising
// the capacity promotes the head of the waitlist into the new seats.
func PatchOffering(ctx context.Context, db *DB, a Actor, id int64, in UpdateOffering) (Offering, error) {
	cur, err := FindOfferingByID(ctx, db, id)
	if err != nil {
		return Offering{}, err
	}
	if err := requireManage(ctx, db, a, cur.SchoolID); err != nil {
		return Offering{}, err
	}
	var out Offering
	err = retryTx(ctx, db, func(tx *gorm.DB) error {
		var o Offering
		if err := lockOffering(tx, db.Dialect, id, &o); err != nil {
			return err
		}
		if o.Status == OfferingCancelled {
			return ErrInvalidStatus
		}
		var v Validator
		if o.Status != OfferingDraft {
			v.Check(in.TermID == nil || *in.TermID == o.TermID, "term_id", "发布后不可修改学期")
			v.Check(in.Mode == nil || *in.Mode == o.Mode, "mode", "发布后不可修改报名方式")
			v.Check(in.Kind == nil || *in.Kind == o.Kind, "kind", "发布后不可修改类型")
		}
		set(&o.TermID, in.TermID)
		set(&o.Kind, in.Kind)
		set(&o.Name, in.Name)
		set(&o.Category, in.Category)
		set(&o.Description, in.Description)
		set(&o.Teacher, in.Teacher)
		set(&o.Venue, in.Venue)
		set(&o.Capacity, in.Capacity)
		set(&o.FeeFen, in.FeeFen)
		set(&o.Mode, in.Mode)
		set(&o.Waitlist, in.Waitlist)
		if in.EnrollOpensAt != nil {
			o.EnrollOpensAt = in.EnrollOpensAt.UTC()
		}
		if in.EnrollClosesAt != nil {
			o.EnrollClosesAt = in.EnrollClosesAt.UTC()
		}
		var start, end string
		set(&start, in.StartTime)
		set(&end, in.EndTime)
		var weekdays, grades []int
		if in.Weekdays != nil {
			weekdays = *in.Weekdays
			if weekdays == nil {
				weekdays = []int{}
			}
		}
		if in.Grades != nil {
			grades = *in.Grades
			if grades == nil {
				grades = []int{}
			}
		}
		validateOffering(&v, &o, weekdays, grades, start, end)
		v.Check(o.Capacity >= o.EnrolledCount, "capacity", fmt.Sprintf("名额不能少于已报名人数（%d）", o.EnrolledCount))
		if in.TermID != nil && *in.TermID != cur.TermID {
			var t Term
			err := tx.Where("id = ?", *in.TermID).Take(&t).Error
			v.Check(err == nil && t.SchoolID == o.SchoolID, "term_id", "学期不存在或不属于该学校")
		}
		if err := v.Err(); err != nil {
			return err
		}
		o.UpdatedAt = time.Now().UTC()
		res := tx.Model(&Offering{}).Where("id = ? AND enrolled_count <= ?", id, o.Capacity).Updates(map[string]any{
			"term_id": o.TermID, "kind": o.Kind, "name": o.Name, "category": o.Category, "description": o.Description,
			"teacher": o.Teacher, "venue": o.Venue, "weekdays": o.Weekdays, "start_min": o.StartMin, "end_min": o.EndMin,
			"capacity": o.Capacity, "grades": o.Grades, "fee_fen": o.FeeFen, "mode": o.Mode, "waitlist": o.Waitlist,
			"enroll_opens_at": o.EnrollOpensAt, "enroll_closes_at": o.EnrollClosesAt, "updated_at": o.UpdatedAt,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return &ValidationError{Fields: map[string]string{"capacity": "名额不能少于已报名人数"}}
		}
		if o.Capacity > o.EnrolledCount && o.WaitlistedCount > 0 && o.Status != OfferingCancelled {
			if _, err := fillFromWaitlist(tx, db.Dialect, o.ID, a.UserID); err != nil {
				return err
			}
		}
		return tx.Where("id = ?", id).Take(&out).Error
	})
	return out, err
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// lockOffering loads offering id inside tx, locking its row on PostgreSQL.
func lockOffering(tx *gorm.DB, d Dialect, id int64, o *Offering) error {
	q := "SELECT * FROM offerings WHERE id = ?"
	if d == Postgres {
		q += " FOR UPDATE"
	}
	err := tx.Raw(q, id).Scan(o).Error
	if err == nil && o.ID == 0 {
		return ErrNotFound
	}
	return err
}

// PublishOffering moves a draft offering to published.
func PublishOffering(ctx context.Context, db *DB, a Actor, id int64) (Offering, error) {
	return transition(ctx, db, a, id, []string{OfferingDraft}, OfferingPublished)
}

// CloseOffering moves a published offering to closed: no more enrollments;
// the seats already taken stay.
func CloseOffering(ctx context.Context, db *DB, a Actor, id int64) (Offering, error) {
	return transition(ctx, db, a, id, []string{OfferingPublished}, OfferingClosed)
}

func transition(ctx context.Context, db *DB, a Actor, id int64, from []string, to string) (Offering, error) {
	o, err := FindOfferingByID(ctx, db, id)
	if err != nil {
		return Offering{}, err
	}
	if err := requireManage(ctx, db, a, o.SchoolID); err != nil {
		return Offering{}, err
	}
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("UPDATE offerings SET status = ?, updated_at = ? WHERE id = ? AND status IN ?",
			to, time.Now().UTC(), id, from)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrInvalidStatus
		}
		return tx.Where("id = ?", id).Take(&o).Error
	})
	return o, err
}

// CancelOffering cancels an offering: every live enrollment is withdrawn,
// the counters drop to zero and each family is notified, all in one
// transaction.
func CancelOffering(ctx context.Context, db *DB, a Actor, id int64) (Offering, error) {
	o, err := FindOfferingByID(ctx, db, id)
	if err != nil {
		return Offering{}, err
	}
	if err := requireManage(ctx, db, a, o.SchoolID); err != nil {
		return Offering{}, err
	}
	err = retryTx(ctx, db, func(tx *gorm.DB) error {
		now := time.Now().UTC()
		res := tx.Exec(`UPDATE offerings SET status = ?, enrolled_count = 0, waitlisted_count = 0, applied_count = 0,
			updated_at = ? WHERE id = ? AND status <> ?`, OfferingCancelled, now, id, OfferingCancelled)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrInvalidStatus
		}
		var students []int64
		if err := tx.Raw("SELECT student_id FROM enrollments WHERE offering_id = ? AND status IN ? ORDER BY student_id",
			id, liveStatuses).Scan(&students).Error; err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE enrollments SET status = ?, waitlist_position = NULL, withdrawn_by = ?, withdrawn_at = ?,
			updated_at = ? WHERE offering_id = ? AND status IN ?`, StatusWithdrawn, nullID(a.UserID), now, now, id, liveStatuses).Error; err != nil {
			return err
		}
		for _, sid := range students {
			if err := NotifyGuardians(tx, NotifyOfferingCancelled, sid, fmt.Sprintf("cancelled:offering:%d:student:%d", id, sid),
				map[string]string{"offering": o.Name, "offering_id": fmt.Sprint(id)}); err != nil {
				return err
			}
		}
		return tx.Where("id = ?", id).Take(&o).Error
	})
	return o, err
}

// nullID maps 0 (the system actor) to NULL for user references.
func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}
