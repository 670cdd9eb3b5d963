package handlers

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// StatsDTO is the statistics of SPEC.md for one scope on one date. A rate
// whose denominator is zero is null (no data, shown as "—"), and every rate
// comes with the counts it is computed from.
type StatsDTO struct {
	AsOf              string   `json:"as_of"`
	ScopeType         string   `json:"scope_type"`
	ScopeID           int64    `json:"scope_id"`
	ComputedAt        string   `json:"computed_at"`
	Schools           int64    `json:"schools"`
	SchoolsOffering   int64    `json:"schools_offering"`
	CoverageRate      *float64 `json:"coverage_rate"`
	Schools5Plus2     int64    `json:"schools_5plus2"`
	Students          int64    `json:"students"`
	Participants      int64    `json:"participants"`
	ParticipationRate *float64 `json:"participation_rate"`
	BasicParticipants int64    `json:"basic_participants"`
	ClubParticipants  int64    `json:"club_participants"`
	Clubs             int64    `json:"clubs"`
	Seats             int64    `json:"seats"`
	SeatsFilled       int64    `json:"seats_filled"`
	FillRate          *float64 `json:"fill_rate"`
	Waitlisted        int64    `json:"waitlisted"`
	Responses         int64    `json:"responses"`
	Supporters        int64    `json:"supporters"`
	Satisfied         int64    `json:"satisfied"`
	ParentSupportRate *float64 `json:"parent_support_rate"`
	SatisfactionRate  *float64 `json:"satisfaction_rate"`
	Attended          int64    `json:"attended"`
	AttendanceMarked  int64    `json:"attendance_marked"`
	AttendanceRate    *float64 `json:"attendance_rate"`
	// The daily loop's figures (docs/attendance.md).
	FiveDay                  int64    `json:"five_day"`
	FiveDayRate              *float64 `json:"five_day_rate"`
	Teachers                 int64    `json:"teachers"`
	TeachersMarking          int64    `json:"teachers_marking"`
	TeacherParticipationRate *float64 `json:"teacher_participation_rate"`
	SessionsHeld             int64    `json:"sessions_held"`
	SessionsCancelled        int64    `json:"sessions_cancelled"`
}

// NewStatsDTO maps a snapshot to its DTO.
func NewStatsDTO(s models.Snapshot) StatsDTO {
	return StatsDTO{AsOf: s.Date, ScopeType: s.ScopeType, ScopeID: s.ScopeID, ComputedAt: rfc3339(s.ComputedAt),
		Schools: s.Schools, SchoolsOffering: s.SchoolsOffering, CoverageRate: s.CoverageRate(),
		Schools5Plus2: s.Schools5Plus2, Students: s.Students, Participants: s.Participants,
		ParticipationRate: s.ParticipationRate(), BasicParticipants: s.BasicParticipants,
		ClubParticipants: s.ClubParticipants, Clubs: s.Clubs, Seats: s.Seats, SeatsFilled: s.SeatsFilled,
		FillRate: s.FillRate(), Waitlisted: s.Waitlisted, Responses: s.Responses,
		Supporters: s.Supporters, Satisfied: s.Satisfied,
		ParentSupportRate: s.ParentSupportRate(), SatisfactionRate: s.SatisfactionRate(),
		Attended: s.Attended, AttendanceMarked: s.AttendanceMarked,
		AttendanceRate: s.AttendanceRate(), FiveDay: s.FiveDay, FiveDayRate: s.FiveDayRate(),
		Teachers: s.Teachers, TeachersMarking: s.TeachersMarking,
		TeacherParticipationRate: s.TeacherParticipationRate(), SessionsHeld: s.SessionsHeld,
		SessionsCancelled: s.SessionsCancelled}
}

// statsDate reads a YYYY-MM-DD query parameter, defaulting to def.
func statsDate(c *fiber.Ctx, name, def string) (string, error) {
	s := c.Query(name)
	if s == "" {
		return def, nil
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return "", BadRequest("bad_param", "查询参数 "+name+" 须为 YYYY-MM-DD 日期")
	}
	return s, nil
}

// statsScope resolves ?region_id|school_id against the caller's scope.
func (h *API) statsScope(c *fiber.Ctx) (models.StatScope, error) {
	regionID, err := queryID(c, "region_id")
	if err != nil {
		return models.StatScope{}, err
	}
	schoolID, err := queryID(c, "school_id")
	if err != nil {
		return models.StatScope{}, err
	}
	return models.ResolveStatScope(c.UserContext(), h.DB, CurrentActor(c), regionID, schoolID)
}

// StatsOverview is GET /api/v1/stats/overview?region_id|school_id&date: the
// snapshot of the scope (default the caller's own) on date (default today,
// Asia/Shanghai); 404 no_snapshot when the job has not computed it.
func (h *API) StatsOverview(c *fiber.Ctx) error {
	sc, err := h.statsScope(c)
	if err != nil {
		return err
	}
	date, err := statsDate(c, "date", models.LocalDate(h.now()))
	if err != nil {
		return err
	}
	return h.statsJSON(c, statsAnswerKey{endpoint: "overview", scope: sc, params: date}, func() (any, error) {
		s, err := models.FindSnapshot(c.UserContext(), h.DB, sc, date)
		if err != nil {
			return nil, err
		}
		return NewStatsDTO(s), nil
	})
}

// TrendPointDTO is one day of a trend: value null on a day a rate has no
// data.
type TrendPointDTO struct {
	Date  string   `json:"date"`
	Value *float64 `json:"value"`
}

// maxTrendDays bounds a trend's range.
const maxTrendDays = 366

// StatsTrend is GET /api/v1/stats/trend?metric&region_id|school_id&from&to:
// the metric's daily series, [{date,value}] for the days that have a
// snapshot. to defaults to today, from to 29 days before to.
func (h *API) StatsTrend(c *fiber.Ctx) error {
	sc, err := h.statsScope(c)
	if err != nil {
		return err
	}
	metric := c.Query("metric")
	if _, ok := models.Metrics[metric]; !ok {
		return &models.ValidationError{Fields: map[string]string{"metric": "未知的指标"}}
	}
	to, err := statsDate(c, "to", models.LocalDate(h.now()))
	if err != nil {
		return err
	}
	toDay, _ := time.Parse(time.DateOnly, to)
	from, err := statsDate(c, "from", toDay.AddDate(0, 0, -29).Format(time.DateOnly))
	if err != nil {
		return err
	}
	fromDay, _ := time.Parse(time.DateOnly, from)
	if fromDay.After(toDay) {
		return &models.ValidationError{Fields: map[string]string{"from": "from 不能晚于 to"}}
	}
	if toDay.Sub(fromDay) >= maxTrendDays*24*time.Hour {
		return &models.ValidationError{Fields: map[string]string{"from": "时间范围最多366天"}}
	}
	key := statsAnswerKey{endpoint: "trend", scope: sc, params: metric + "|" + from + "|" + to}
	return h.statsJSON(c, key, func() (any, error) {
		pts, err := models.FindTrend(c.UserContext(), h.DB, sc, metric, from, to)
		if err != nil {
			return nil, err
		}
		out := make([]TrendPointDTO, 0, len(pts))
		for _, p := range pts {
			out = append(out, TrendPointDTO{Date: p.Date, Value: p.Value})
		}
		return out, nil
	})
}

// GradeStatsDTO is one grade of a breakdown: the student figures, rates
// null without data, with their counts.
type GradeStatsDTO struct {
	Grade             int      `json:"grade"`
	Students          int64    `json:"students"`
	Participants      int64    `json:"participants"`
	ParticipationRate *float64 `json:"participation_rate"`
	BasicParticipants int64    `json:"basic_participants"`
	ClubParticipants  int64    `json:"club_participants"`
	Responses         int64    `json:"responses"`
	Supporters        int64    `json:"supporters"`
	Satisfied         int64    `json:"satisfied"`
	ParentSupportRate *float64 `json:"parent_support_rate"`
	SatisfactionRate  *float64 `json:"satisfaction_rate"`
	Attended          int64    `json:"attended"`
	AttendanceMarked  int64    `json:"attendance_marked"`
	AttendanceRate    *float64 `json:"attendance_rate"`
	FiveDay           int64    `json:"five_day"`
	FiveDayRate       *float64 `json:"five_day_rate"`
}

// CategoryStatsDTO is one club category of a breakdown: the club figures.
type CategoryStatsDTO struct {
	Category         string   `json:"category"`
	CategoryLabel    string   `json:"category_label"`
	Clubs            int64    `json:"clubs"`
	Seats            int64    `json:"seats"`
	SeatsFilled      int64    `json:"seats_filled"`
	FillRate         *float64 `json:"fill_rate"`
	Waitlisted       int64    `json:"waitlisted"`
	ClubParticipants int64    `json:"club_participants"`
}

// StatsBreakdown is GET /api/v1/stats/breakdown?region_id|school_id&date&by:
// the scope's figures per grade (by=grade) or per club category
// (by=category).
func (h *API) StatsBreakdown(c *fiber.Ctx) error {
	sc, err := h.statsScope(c)
	if err != nil {
		return err
	}
	date, err := statsDate(c, "date", models.LocalDate(h.now()))
	if err != nil {
		return err
	}
	by := c.Query("by")
	offset, limit, err := wholePageParams(c)
	if err != nil {
		return err
	}
	key := statsAnswerKey{endpoint: "breakdown", scope: sc, params: date + "|" + by + "|" + strconv.Itoa(offset) + "|" + strconv.Itoa(limit)}
	return h.statsJSON(c, key, func() (any, error) { return h.breakdown(c, sc, date, by, offset, limit) })
}

// breakdown builds the answer of StatsBreakdown.
func (h *API) breakdown(c *fiber.Ctx, sc models.StatScope, date, by string, offset, limit int) (any, error) {
	rows, err := models.FindBreakdown(c.UserContext(), h.DB, sc, date, by)
	if err != nil {
		return nil, err
	}
	items := make([]any, 0, len(rows))
	for _, s := range rows {
		if by == models.ByGrade {
			items = append(items, GradeStatsDTO{Grade: s.Grade, Students: s.Students, Participants: s.Participants,
				ParticipationRate: s.ParticipationRate(), BasicParticipants: s.BasicParticipants,
				ClubParticipants: s.ClubParticipants, Responses: s.Responses, Supporters: s.Supporters,
				Satisfied: s.Satisfied, ParentSupportRate: s.ParentSupportRate(),
				SatisfactionRate: s.SatisfactionRate(), Attended: s.Attended, AttendanceMarked: s.AttendanceMarked,
				AttendanceRate: s.AttendanceRate(), FiveDay: s.FiveDay, FiveDayRate: s.FiveDayRate()})
		} else {
			items = append(items, CategoryStatsDTO{Category: s.Category, CategoryLabel: models.CategoryLabel(s.Category), Clubs: s.Clubs, Seats: s.Seats,
				SeatsFilled: s.SeatsFilled, FillRate: s.FillRate(), Waitlisted: s.Waitlisted, ClubParticipants: s.ClubParticipants})
		}
	}
	p := offsetPage(items, offset, limit)
	return fiber.Map{"as_of": date, "scope_type": sc.Type, "scope_id": sc.ID, "by": by, "items": p.Items, "next_cursor": p.NextCursor}, nil
}
