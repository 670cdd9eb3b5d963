package handlers

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/xuri/excelize/v2"

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

var enrollmentStatusNames = map[string]string{models.StatusEnrolled: "已录取", models.StatusWaitlisted: "候补",
	models.StatusApplied: "已报名（待抽签）"}

func offeringRosterRecord(r models.OfferingRosterRow) []string {
	pos := ""
	if r.WaitlistPosition != nil {
		pos = strconv.Itoa(*r.WaitlistPosition)
	}
	return []string{r.StudentNo, r.Name, strconv.Itoa(r.Grade), r.ClassName, r.GuardianName, r.GuardianPhone,
		enrollmentStatusNames[r.Status], pos}
}

// OfferingRoster is GET /api/v1/offerings/{id}/roster?format=json|csv|xlsx
// (school staff). CSV starts with a UTF-8 BOM so Excel reads the Chinese.
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
	filename := fmt.Sprintf("roster-%d.%s", o.ID, format)
	switch format {
	case "csv":
		var buf bytes.Buffer
		buf.WriteString("\uFEFF")
		w := csv.NewWriter(&buf)
		_ = w.Write(offeringRosterHeader)
		for _, r := range rows {
			rec := offeringRosterRecord(r)
			for i, v := range rec {
				rec[i] = cellString(v) // names come from files: no formulas
			}
			_ = w.Write(rec)
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+filename+`"`)
		return c.Send(buf.Bytes())
	case "xlsx":
		f := excelize.NewFile()
		defer f.Close()
		sheet := f.GetSheetName(0)
		all := append([][]string{offeringRosterHeader}, make([][]string, 0, len(rows))...)
		for _, r := range rows {
			all = append(all, offeringRosterRecord(r))
		}
		for i, rec := range all {
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			vals := make([]any, len(rec))
			for j, v := range rec {
				vals[j] = v
			}
			if err := f.SetSheetRow(sheet, cell, &vals); err != nil {
				return err
			}
		}
		buf, err := f.WriteToBuffer()
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+filename+`"`)
		return c.Send(buf.Bytes())
	}
	items := make([]OfferingRosterRowDTO, 0, len(rows))
	for _, r := range rows {
		items = append(items, OfferingRosterRowDTO{EnrollmentID: r.EnrollmentID, StudentID: r.StudentID,
			StudentNo: r.StudentNo, Name: r.Name, Grade: r.Grade, Class: r.ClassName, GuardianName: r.GuardianName,
			GuardianPhone: r.GuardianPhone, Status: r.Status, WaitlistPosition: r.WaitlistPosition})
	}
	p := offsetPage(items, offset, limit)
	return c.JSON(OfferingRosterDTO{Offering: NewOfferingDTO(o), Items: p.Items, NextCursor: p.NextCursor})
}
