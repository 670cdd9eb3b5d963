package handlers

import (
	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// StudentDTO is a student in API answers (SPEC: id, school_id, student_no,
// name, gender, grade, class).
type StudentDTO struct {
	ID        int64  `json:"id"`
	SchoolID  int64  `json:"school_id"`
	StudentNo string `json:"student_no"`
	Name      string `json:"name"`
	Gender    string `json:"gender"`
	Grade     int    `json:"grade"`
	Class     string `json:"class"`
}

// NewStudentDTO maps a student to its DTO.
func NewStudentDTO(s models.Student) StudentDTO {
	return StudentDTO{ID: s.ID, SchoolID: s.SchoolID, StudentNo: s.StudentNo, Name: s.Name,
		Gender: s.Gender, Grade: s.Grade, Class: s.ClassName}
}

// SchoolStudentDTO is a student of the school's list: the student, and its
// fee waiver (none|half|full) with the waiver's reason ("" for none).
type SchoolStudentDTO struct {
	StudentDTO
	// The waiver, for the school's admins only (nil for teachers:
	// models.FindSchoolStudents).
	FeeWaiver    *string `json:"fee_waiver,omitempty"`
	WaiverReason *string `json:"waiver_reason,omitempty"`
}

// ListStudents is GET /api/v1/schools/{id}/students?q&cursor&limit (school
// staff; cursor-paged): q finds students by part of the name or the
// student number from its start, in either case.
func (h *API) ListStudents(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	after, limit, err := pageParams(c)
	if err != nil {
		return err
	}
	ss, err := models.FindSchoolStudents(c.UserContext(), h.DB, CurrentActor(c), id,
		models.StudentListFilter{Query: c.Query("q"), After: after, Limit: limit + 1})
	if err != nil {
		return err
	}
	var out Page[SchoolStudentDTO]
	ss, out.NextCursor = keysetPage(ss, limit, func(s models.SchoolStudent) int64 { return s.ID })
	out.Items = make([]SchoolStudentDTO, 0, len(ss))
	for _, s := range ss {
		d := SchoolStudentDTO{StudentDTO: NewStudentDTO(s.Student)}
		if s.Waiver {
			d.FeeWaiver, d.WaiverReason = ptr(s.FeeWaiver), ptr(s.WaiverReason)
		}
		out.Items = append(out.Items, d)
	}
	return c.JSON(out)
}
