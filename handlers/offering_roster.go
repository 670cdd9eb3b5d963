package handlers

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// OfferingRosterRowDTO is one student on an offering's roster (guardian phone
// masked).
type OfferingRosterRowDTO struct {
	EnrollmentID     int64  `json:"enrollment_id"`
	StudentID        int64  `json:"student_id"`
	StudentNo        string `json:"student_no"`
	Name             string `json:"name"`
	Grade            int    `json:"grade"`
	Class            string `json:"class"`
	GuardianName     string `json:"guardian_name"`
	GuardianPhone    string `json:"guardian_phone"`
	Status           string `json:"status"`
	WaitlistPosition *int   `json:"waitlist_position,omitempty"`
}

// OfferingRosterDTO is the JSON roster of an offering, in SPEC's list
// format (a whole list: without limit on one page, see page.go).
type OfferingRosterDTO struct {
	Offering   OfferingDTO            `json:"offering"`
	Items      []OfferingRosterRowDTO `json:"items"`
	NextCursor string                 `json:"next_cursor"`
}

var offeringRosterHeader = []string{"学号", "姓名", "年级", "班级", "家长", "家长电话", "状态", "候补顺位"}

// offeringRosterKinds are the kinds of offeringRosterHeader's columns.
var offeringRosterKinds = []exportKind{exportText, exportText, exportInt, exportText, exportText, exportText, exportText, exportInt}

func offeringRosterRecord(r models.OfferingRosterRow) []any {
	return []any{r.StudentNo, r.Name, r.Grade, r.ClassName, r.GuardianName, r.GuardianPhone,
		r.Status.Name(), r.WaitlistPosition}
}

// OfferingRoster is GET /api/v1/offerings/{id}/roster?format=json|csv|xlsx
// (school staff). The files are named for the offering and the day
// (篮球社-名单-2026-12-03.xlsx); see export.go.
func (h *API) OfferingRoster(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	format := c.Query("format", "json")
	if format != "json" && format != "csv" && format != "xlsx" {
		return BadRequest("bad_param", "format 须为 json、csv 或 xlsx")
	}
	offset, limit, err := wholePageParams(c)
	if err != nil {
		return err
	}
	o, rows, err := models.OfferingRoster(c.UserContext(), h.DB, CurrentActor(c), id)
	if err != nil {
		return err
	}
	if format != "json" {
		t := exportTable{headers: offeringRosterHeader, kinds: offeringRosterKinds}
		for _, r := range rows {
			t.rows = append(t.rows, offeringRosterRecord(r))
		}
		date := h.now().In(models.Zone).Format(time.DateOnly)
		return sendExport(c, t, format, o.Name+"-名单-"+date, fmt.Sprintf("roster-%d-%s", o.ID, date))
	}
	items := make([]OfferingRosterRowDTO, 0, len(rows))
	for _, r := range rows {
		items = append(items, OfferingRosterRowDTO{EnrollmentID: r.EnrollmentID, StudentID: r.StudentID,
			StudentNo: r.StudentNo, Name: r.Name, Grade: r.Grade, Class: r.ClassName, GuardianName: r.GuardianName,
			GuardianPhone: r.GuardianPhone, Status: string(r.Status), WaitlistPosition: r.WaitlistPosition})
	}
	p := offsetPage(items, offset, limit)
	return c.JSON(OfferingRosterDTO{Offering: NewOfferingDTO(o), Items: p.Items, NextCursor: p.NextCursor})
}
