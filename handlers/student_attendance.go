package handlers

import (
	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// StudentSessionOfferingDTO names a session's offering.
type StudentSessionOfferingDTO struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// StudentDismissalDTO is how and when a child left a session.
type StudentDismissalDTO struct {
	By string `json:"by"`
	At string `json:"at"`
}

// StudentSessionDTO is one session of a child's month.
type StudentSessionDTO struct {
	SessionID     int64                     `json:"session_id"`
	Date          string                    `json:"date"`
	StartTime     string                    `json:"start_time"`
	EndTime       string                    `json:"end_time"`
	SessionStatus string                    `json:"session_status"`
	Offering      StudentSessionOfferingDTO `json:"offering"`
	Status        *string                   `json:"status"`
	Marked        bool                      `json:"marked"`
	Leave         *LeaveRequestDTO          `json:"leave"`
	Dismissal     *StudentDismissalDTO      `json:"dismissal"`
}

// StudentAttendanceDTO is a child's attendance of one month.
type StudentAttendanceDTO struct {
	StudentID int64               `json:"student_id"`
	Month     string              `json:"month"`
	Items     []StudentSessionDTO `json:"items"`
}

// StudentAttendance is GET /api/v1/students/{id}/attendance?month=YYYY-MM
// (linked guardians, the school's staff; default this month): per session,
// date, offering, status, leave and dismissal.
func (h *API) StudentAttendance(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	month := c.Query("month")
	if month == "" {
		month = models.LocalDate(h.now())[:7]
	}
	ss, err := models.FindStudentAttendance(c.UserContext(), h.DB, CurrentActor(c), id, month)
	if err != nil {
		return err
	}
	out := StudentAttendanceDTO{StudentID: id, Month: month, Items: make([]StudentSessionDTO, 0, len(ss))}
	for _, s := range ss {
		d := StudentSessionDTO{SessionID: s.SessionID, Date: s.Date, StartTime: models.FormatClock(s.StartMin),
			EndTime: models.FormatClock(s.EndMin), SessionStatus: s.SessionStatus,
			Offering: StudentSessionOfferingDTO{ID: s.OfferingID, Name: s.OfferingName}, Status: s.Status, Marked: s.Marked}
		if s.Leave != nil {
			d.Leave = ptr(NewLeaveRequestDTO(*s.Leave))
		}
		if s.DismissedAt != nil {
			d.Dismissal = &StudentDismissalDTO{By: s.DismissedBy, At: rfc3339(*s.DismissedAt)}
		}
		out.Items = append(out.Items, d)
	}
	return c.JSON(out)
}
