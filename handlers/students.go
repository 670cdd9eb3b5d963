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

// ListStudents is GET /api/v1/schools/{id}/students (school staff; cursor-paged).
func (h *API) ListStudents(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	after, limit, err := pageParams(c)
	if err != nil {
		return err
	}
	ss, err := models.FindStudents(c.UserContext(), h.DB, CurrentActor(c), id, after, limit+1)
	if err != nil {
		return err
	}
	var out Page[StudentDTO]
	ss, out.NextCursor = keysetPage(ss, limit, func(s models.Student) int64 { return s.ID })
	out.Items = make([]StudentDTO, 0, len(ss))
	for _, s := range ss {
		out.Items = append(out.Items, NewStudentDTO(s))
	}
	return c.JSON(out)
}
