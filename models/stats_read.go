package models

import (
	"context"
	"time"
)

// Snapshot is one row of stat_snapshots: the counts of one scope, grade and
// category on one date. Rates are derived by its methods.
type Snapshot struct {
	ScopeType         string    `gorm:"column:scope_type"`
	ScopeID           int64     `gorm:"column:scope_id"`
	Grade             int       `gorm:"column:grade"`
	Category          string    `gorm:"column:category"`
	Date              string    `gorm:"column:snap_date"`
	Students          int64     `gorm:"column:students"`
	Participants      int64     `gorm:"column:participants"`
	BasicParticipants int64     `gorm:"column:basic_participants"`
	ClubParticipants  int64     `gorm:"column:club_participants"`
	Schools           int64     `gorm:"column:schools"`
	SchoolsOffering   int64     `gorm:"column:schools_offering"`
	Schools5Plus2     int64     `gorm:"column:schools_5plus2"`
	Clubs             int64     `gorm:"column:clubs"`
	Seats             int64     `gorm:"column:seats"`
	SeatsFilled       int64     `gorm:"column:seats_filled"`
	Waitlisted        int64     `gorm:"column:waitlisted"`
	Responses         int64     `gorm:"column:responses"`
	Supporters        int64     `gorm:"column:supporters"`
	Satisfied         int64     `gorm:"column:satisfied"`
	Attended          int64     `gorm:"column:attended"`
	AttendanceMarked  int64     `gorm:"column:attendance_marked"`
	FiveDay           int64     `gorm:"column:five_day"`
	Teachers          int64     `gorm:"column:teachers"`
	TeachersMarking   int64     `gorm:"column:teachers_marking"`
	SessionsHeld      int64     `gorm:"column:sessions_held"`
	SessionsCancelled int64     `gorm:"column:sessions_cancelled"`
	ComputedAt        time.Time `gorm:"column:computed_at"`
	// SchoolName is filled by FindSchoolSnapshots.
	SchoolName string `gorm:"column:school_name"`
}

// ratio is n / d, or nil when d is 0: SPEC "Statistics" — a rate whose
// denominator is zero is no data (null, shown as "—"), never 0.
func ratio(n, d int64) *float64 {
	if d == 0 {
		return nil
	}
	r := float64(n) / float64(d)
	return &r
}

// ParticipationRate is participants / students (nil when there are none).
func (s Snapshot) ParticipationRate() *float64 { return ratio(s.Participants, s.Students) }

// CoverageRate is schools_offering / schools.
func (s Snapshot) CoverageRate() *float64 { return ratio(s.SchoolsOffering, s.Schools) }

// FillRate is seats_filled / seats.
func (s Snapshot) FillRate() *float64 { return ratio(s.SeatsFilled, s.Seats) }

// ParentSupportRate is support answers / responses.
func (s Snapshot) ParentSupportRate() *float64 { return ratio(s.Supporters, s.Responses) }

// SatisfactionRate is (satisfied + basically_satisfied) / responses.
func (s Snapshot) SatisfactionRate() *float64 { return ratio(s.Satisfied, s.Responses) }

// AttendanceRate is present+late / present+late+absent.
func (s Snapshot) AttendanceRate() *float64 { return ratio(s.Attended, s.AttendanceMarked) }

// FiveDayRate is the share of basic participants enrolled on all five
// weekdays.
func (s Snapshot) FiveDayRate() *float64 { return ratio(s.FiveDay, s.BasicParticipants) }

// TeacherParticipationRate is teachers who marked a roll in the term /
// teachers.
func (s Snapshot) TeacherParticipationRate() *float64 { return ratio(s.TeachersMarking, s.Teachers) }

// count is a count as a metric value (never nil).
func count(n int64) *float64 {
	f := float64(n)
	return &f
}

// Metrics maps every metric name of SPEC.md to its value in a snapshot (nil
// for a rate without data); the trend endpoint accepts exactly these names.
var Metrics = map[string]func(Snapshot) *float64{
	"students":            func(s Snapshot) *float64 { return count(s.Students) },
	"participants":        func(s Snapshot) *float64 { return count(s.Participants) },
	"participation_rate":  Snapshot.ParticipationRate,
	"basic_participants":  func(s Snapshot) *float64 { return count(s.BasicParticipants) },
	"club_participants":   func(s Snapshot) *float64 { return count(s.ClubParticipants) },
	"schools":             func(s Snapshot) *float64 { return count(s.Schools) },
	"schools_offering":    func(s Snapshot) *float64 { return count(s.SchoolsOffering) },
	"coverage_rate":       Snapshot.CoverageRate,
	"schools_5plus2":      func(s Snapshot) *float64 { return count(s.Schools5Plus2) },
	"clubs":               func(s Snapshot) *float64 { return count(s.Clubs) },
	"seats":               func(s Snapshot) *float64 { return count(s.Seats) },
	"seats_filled":        func(s Snapshot) *float64 { return count(s.SeatsFilled) },
	"fill_rate":           Snapshot.FillRate,
	"waitlisted":          func(s Snapshot) *float64 { return count(s.Waitlisted) },
	"responses":           func(s Snapshot) *float64 { return count(s.Responses) },
	"parent_support_rate": Snapshot.ParentSupportRate,
	"satisfaction_rate":   Snapshot.SatisfactionRate,
	"attendance_rate":     Snapshot.AttendanceRate,

	"five_day_rate":              Snapshot.FiveDayRate,
	"teacher_participation_rate": Snapshot.TeacherParticipationRate,
	"teachers":                   func(s Snapshot) *float64 { return count(s.Teachers) },
	"teachers_marking":           func(s Snapshot) *float64 { return count(s.TeachersMarking) },
	"sessions_held":              func(s Snapshot) *float64 { return count(s.SessionsHeld) },
	"sessions_cancelled":         func(s Snapshot) *float64 { return count(s.SessionsCancelled) },
}

// StatScope is what a dashboard reads: a region or a school.
type StatScope struct {
	Type string // ScopeRegion or ScopeSchool
	ID   int64
}

// ResolveStatScope checks that actor a may read the dashboards of the region
// or school asked for (at most one of regionID, schoolID; neither means the
// actor's own region or school). Bureau admins read their region subtree,
// school admins their own school; other roles get ErrForbidden, and a scope
// outside the caller's gets ErrNotFound.
func ResolveStatScope(ctx context.Context, db *DB, a Actor, regionID, schoolID int64) (StatScope, error) {
	if a.Role != RoleBureauAdmin && a.Role != RoleSchoolAdmin {
		return StatScope{}, ErrForbidden
	}
	if regionID != 0 && schoolID != 0 {
		return StatScope{}, &ValidationError{Fields: map[string]string{"region_id": "region_id 与 school_id 只能填一个"}}
	}
	switch {
	case regionID == 0 && schoolID == 0 && a.Role == RoleBureauAdmin:
		return StatScope{ScopeRegion, a.RegionID}, nil
	case regionID == 0 && schoolID == 0:
		return StatScope{ScopeSchool, a.SchoolID}, nil
	case regionID != 0:
		ok, err := RegionInScope(ctx, db, a, regionID)
		if err != nil {
			return StatScope{}, err
		}
		if !ok {
			return StatScope{}, ErrNotFound
		}
		return StatScope{ScopeRegion, regionID}, nil
	}
	if _, err := FindSchoolInScope(ctx, db, a, schoolID); err != nil {
		return StatScope{}, err
	}
	return StatScope{ScopeSchool, schoolID}, nil
}

// FindSnapshot loads the all-grades, all-categories snapshot of scope on
// date, or ErrNoSnapshot.
func FindSnapshot(ctx context.Context, db *DB, sc StatScope, date string) (Snapshot, error) {
	var out []Snapshot
	err := db.Read(ctx).Table("stat_snapshots").Where(
		"scope_type = ? AND scope_id = ? AND grade = 0 AND category = '' AND snap_date = ?", sc.Type, sc.ID, date).
		Limit(1).Find(&out).Error
	if err != nil {
		return Snapshot{}, err
	}
	if len(out) == 0 {
		return Snapshot{}, ErrNoSnapshot
	}
	return out[0], nil
}

// FindSchoolSnapshots loads, for date, the all-grades snapshot of every
// school in region regionID's subtree, ordered by school id; ErrNoSnapshot
// when the region has none for that date.
func FindSchoolSnapshots(ctx context.Context, db *DB, regionID int64, date string) ([]Snapshot, error) {
	path, err := RegionPath(ctx, db, regionID)
	if err != nil {
		return nil, err
	}
	if _, err := FindSnapshot(ctx, db, StatScope{ScopeRegion, regionID}, date); err != nil {
		return nil, err
	}
	out := []Snapshot{}
	// CROSS JOIN fixes SQLite's join order (PostgreSQL plans it as the inner
	// join it is): the subtree's regions, their schools, then each school's
	// snapshot by primary key. Left to its planner, SQLite read every
	// snapshot row of the date for each request (a province: 37,000 rows to
	// answer 30 schools, 30x slower).
	err = db.Read(ctx).Raw(`SELECT s.*, sc.name AS school_name FROM regions r
		CROSS JOIN schools sc CROSS JOIN stat_snapshots s
		WHERE r.path LIKE ? AND sc.region_id = r.id
			AND s.scope_type = 'school' AND s.scope_id = sc.id AND s.grade = 0
			AND s.category = '' AND s.snap_date = ?
		ORDER BY sc.id`, regionSubtreePattern(path), date).Scan(&out).Error
	return out, err
}

// TrendPoint is one day of a metric's series; Value is nil on a day the
// metric is a rate without data.
type TrendPoint struct {
	Date  string
	Value *float64
}

// FindTrend answers metric's daily series for scope between from and to
// (inclusive, YYYY-MM-DD), one point per day that has a snapshot.
func FindTrend(ctx context.Context, db *DB, sc StatScope, metric, from, to string) ([]TrendPoint, error) {
	f, ok := Metrics[metric]
	if !ok {
		return nil, &ValidationError{Fields: map[string]string{"metric": "未知的指标"}}
	}
	var snaps []Snapshot
	err := db.Read(ctx).Table("stat_snapshots").Where(
		"scope_type = ? AND scope_id = ? AND grade = 0 AND category = '' AND snap_date >= ? AND snap_date <= ?",
		sc.Type, sc.ID, from, to).Order("snap_date").Find(&snaps).Error
	if err != nil {
		return nil, err
	}
	out := make([]TrendPoint, 0, len(snaps))
	for _, s := range snaps {
		out = append(out, TrendPoint{Date: s.Date, Value: f(s)})
	}
	return out, nil
}

// Breakdown dimensions.
const (
	ByGrade    = "grade"
	ByCategory = "category"
)

// FindBreakdown loads scope's snapshot rows of date split by grade (student
// figures) or by club category (club figures); ErrNoSnapshot when scope has
// no snapshot for date.
func FindBreakdown(ctx context.Context, db *DB, sc StatScope, date, by string) ([]Snapshot, error) {
	if by != ByGrade && by != ByCategory {
		return nil, &ValidationError{Fields: map[string]string{"by": "by 须为 grade 或 category"}}
	}
	if _, err := FindSnapshot(ctx, db, sc, date); err != nil {
		return nil, err
	}
	q := db.Read(ctx).Table("stat_snapshots").Where("scope_type = ? AND scope_id = ? AND snap_date = ?", sc.Type, sc.ID, date)
	if by == ByGrade {
		q = q.Where("grade > 0 AND category = ''").Order("grade")
	} else {
		q = q.Where("grade = 0 AND category <> ''").Order("category")
	}
	out := []Snapshot{}
	err := q.Find(&out).Error
	return out, err
}
