package handlers

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// SchoolStatsDTO is one school's row of GET /api/v1/stats/schools.
type SchoolStatsDTO struct {
	SchoolID   int64  `json:"school_id"`
	SchoolName string `json:"school_name"`
	StatsDTO
}

// schoolColumns are the columns of the CSV and XLSX exports: a zh-CN header
// and the cell of a row.
var schoolColumns = []struct {
	header string
	kind   exportKind
	cell   func(models.Snapshot) any
}{
	{"学校ID", exportInt, func(s models.Snapshot) any { return s.ScopeID }},
	{"学校", exportText, func(s models.Snapshot) any { return s.SchoolName }},
	{"在校学生数", exportInt, func(s models.Snapshot) any { return s.Students }},
	{"参与学生数", exportInt, func(s models.Snapshot) any { return s.Participants }},
	{"参与率", exportRate, func(s models.Snapshot) any { return s.ParticipationRate() }},
	{"基础托管参与数", exportInt, func(s models.Snapshot) any { return s.BasicParticipants }},
	{"社团参与数", exportInt, func(s models.Snapshot) any { return s.ClubParticipants }},
	{"提供课后服务", exportYesNo, func(s models.Snapshot) any { return s.SchoolsOffering }},
	{"5+2达标", exportYesNo, func(s models.Snapshot) any { return s.Schools5Plus2 }},
	{"社团数", exportInt, func(s models.Snapshot) any { return s.Clubs }},
	{"社团名额", exportInt, func(s models.Snapshot) any { return s.Seats }},
	{"已报名额", exportInt, func(s models.Snapshot) any { return s.SeatsFilled }},
	{"名额使用率", exportRate, func(s models.Snapshot) any { return s.FillRate() }},
	{"候补人数", exportInt, func(s models.Snapshot) any { return s.Waitlisted }},
	{"问卷份数", exportInt, func(s models.Snapshot) any { return s.Responses }},
	{"家长支持率", exportRate, func(s models.Snapshot) any { return s.ParentSupportRate() }},
	{"满意率", exportRate, func(s models.Snapshot) any { return s.SatisfactionRate() }},
	{"出勤率", exportRate, func(s models.Snapshot) any { return s.AttendanceRate() }},
	{"五天全参与率", exportRate, func(s models.Snapshot) any { return s.FiveDayRate() }},
	{"教师点名参与率", exportRate, func(s models.Snapshot) any { return s.TeacherParticipationRate() }},
	{"已开课节次", exportInt, func(s models.Snapshot) any { return s.SessionsHeld }},
	{"停课节次", exportInt, func(s models.Snapshot) any { return s.SessionsCancelled }},
}

// StatsSchools is GET /api/v1/stats/schools?region_id&date[&format=json|csv|xlsx]
// (bureau admin): one row per school of the region subtree (default the
// caller's region).
func (h *API) StatsSchools(c *fiber.Ctx) error {
	a := CurrentActor(c)
	regionID, err := queryID(c, "region_id")
	if err != nil {
		return err
	}
	if regionID == 0 {
		regionID = a.RegionID
	}
	sc, err := models.ResolveStatScope(c.UserContext(), h.DB, a, regionID, 0)
	if err != nil {
		return err
	}
	date, err := statsDate(c, "date", models.LocalDate(h.now()))
	if err != nil {
		return err
	}
	format := c.Query("format", "json")
	if format != "json" && format != "csv" && format != "xlsx" {
		return BadRequest("bad_param", "format 须为 json、csv 或 xlsx")
	}
	if format == "json" {
		offset, limit, err := wholePageParams(c)
		if err != nil {
			return err
		}
		key := statsAnswerKey{endpoint: "schools", scope: sc, params: date + "|" + strconv.Itoa(offset) + "|" + strconv.Itoa(limit)}
		return h.statsJSON(c, key, func() (any, error) {
			rows, err := models.FindSchoolSnapshots(c.UserContext(), h.DB, sc.ID, date)
			if err != nil {
				return nil, err
			}
			items := make([]SchoolStatsDTO, 0, len(rows))
			for _, s := range rows {
				items = append(items, SchoolStatsDTO{SchoolID: s.ScopeID, SchoolName: s.SchoolName, StatsDTO: NewStatsDTO(s)})
			}
			p := offsetPage(items, offset, limit)
			return fiber.Map{"as_of": date, "region_id": sc.ID, "items": p.Items, "next_cursor": p.NextCursor}, nil
		})
	}
	return h.schoolsExport(c, sc, date, format)
}

// schoolsExport answers StatsSchools as a CSV or XLSX file named for the
// region and the snapshot date (某区-各校统计-2026-12-03.xlsx; never cached:
// exports are rare).
func (h *API) schoolsExport(c *fiber.Ctx, sc models.StatScope, date, format string) error {
	rows, err := models.FindSchoolSnapshots(c.UserContext(), h.DB, sc.ID, date)
	if err != nil {
		return err
	}
	region, err := models.FindRegionByID(c.UserContext(), h.DB, sc.ID)
	if err != nil {
		return err
	}
	t := exportTable{headers: headers()}
	for _, col := range schoolColumns {
		t.kinds = append(t.kinds, col.kind)
	}
	for _, s := range rows {
		rec := make([]any, len(schoolColumns))
		for i, col := range schoolColumns {
			rec[i] = col.cell(s)
		}
		t.rows = append(t.rows, rec)
	}
	return sendExport(c, t, format, region.Name+"-各校统计-"+date, "schools-"+strconv.FormatInt(sc.ID, 10)+"-"+date)
}

func headers() []string {
	out := make([]string, len(schoolColumns))
	for i, c := range schoolColumns {
		out[i] = c.header
	}
	return out
}

func cellString(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', 4, 64)
	case string:
		// A leading = + - @ (or a tab or CR before one) would make a
		// spreadsheet evaluate the cell.
		if x != "" && strings.ContainsRune("=+-@\t\r", rune(x[0])) {
			return "'" + x
		}
		return x
	}
	return ""
}
