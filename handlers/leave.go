package handlers

import (
	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// LeaveRequestDTO is a leave request in API answers.
type LeaveRequestDTO struct {
	ID          int64   `json:"id"`
	StudentID   int64   `json:"student_id"`
	From        string  `json:"from"`
	To          string  `json:"to"`
	OfferingIDs []int64 `json:"offering_ids"`
	Reason      string  `json:"reason"`
	Status      string  `json:"status"`
	FiledBy     *int64  `json:"filed_by"`
	CreatedAt   string  `json:"created_at"`
	CancelledAt *string `json:"cancelled_at"`
}

// NewLeaveRequestDTO maps a leave request to its DTO.
func NewLeaveRequestDTO(l models.LeaveRequest) LeaveRequestDTO {
	d := LeaveRequestDTO{ID: l.ID, StudentID: l.StudentID, From: l.From, To: l.To, OfferingIDs: l.Offerings(),
		Reason: l.Reason, Status: l.Status, FiledBy: l.FiledBy, CreatedAt: rfc3339(l.CreatedAt)}
	if l.CancelledAt != nil {
		d.CancelledAt = ptr(rfc3339(*l.CancelledAt))
	}
	return d
}

type leaveRequest struct {
	From        string  `json:"from"`
	To          string  `json:"to"`
	OfferingIDs []int64 `json:"offering_ids"`
	Reason      string  `json:"reason"`
}

// CreateLeaveRequest is POST /api/v1/students/{id}/leave-requests (a linked
// guardian): {from,to,offering_ids?,reason} → 201.
func (h *API) CreateLeaveRequest(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var in leaveRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	l, err := models.CreateLeaveRequest(c.UserContext(), h.DB, CurrentActor(c), id, models.NewLeaveRequest{
		From: in.From, To: in.To, OfferingIDs: in.OfferingIDs, Reason: in.Reason}, h.now())
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(NewLeaveRequestDTO(l))
}

// ListLeaveRequests is GET /api/v1/students/{id}/leave-requests (linked
// guardians, the school's staff): newest first, paged by ?cursor&limit.
func (h *API) ListLeaveRequests(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	before, limit, err := pageParams(c)
	if err != nil {
		return err
	}
	ls, err := models.FindLeaveRequests(c.UserContext(), h.DB, CurrentActor(c), id, before, limit)
	if err != nil {
		return err
	}
	ls, next := keysetPage(ls, limit, func(l models.LeaveRequest) int64 { return l.ID })
	out := Page[LeaveRequestDTO]{Items: make([]LeaveRequestDTO, 0, len(ls)), NextCursor: next}
	for _, l := range ls {
		out.Items = append(out.Items, NewLeaveRequestDTO(l))
	}
	return c.JSON(out)
}

// CancelLeaveRequest is DELETE /api/v1/leave-requests/{id} (the guardian who
// filed it), before the first covered session starts → the cancelled
// request.
func (h *API) CancelLeaveRequest(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	l, err := models.CancelLeaveRequest(c.UserContext(), h.DB, CurrentActor(c), id, h.now())
	if err != nil {
		return err
	}
	return c.JSON(NewLeaveRequestDTO(l))
}

// SchoolLeaveDTO is a leave request of a school's list, with its student.
type SchoolLeaveDTO struct {
	LeaveRequestDTO
	StudentName string `json:"student_name"`
	StudentNo   string `json:"student_no"`
	Grade       int    `json:"grade"`
	Class       string `json:"class"`
}

// ListSchoolLeaves is GET /api/v1/schools/{id}/leave-requests?status&from&to&cursor&limit
// (the school admin): the school's leave requests, newest first — from/to
// keep those covering any day between them.
func (h *API) ListSchoolLeaves(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	before, limit, err := pageParams(c)
	if err != nil {
		return err
	}
	ls, err := models.FindSchoolLeaves(c.UserContext(), h.DB, CurrentActor(c), id, models.LeaveListFilter{
		Status: c.Query("status"), From: c.Query("from"), To: c.Query("to"), Before: before, Limit: limit + 1})
	if err != nil {
		return err
	}
	ls, next := keysetPage(ls, limit, func(l models.SchoolLeave) int64 { return l.ID })
	out := Page[SchoolLeaveDTO]{Items: make([]SchoolLeaveDTO, 0, len(ls)), NextCursor: next}
	for _, l := range ls {
		out.Items = append(out.Items, SchoolLeaveDTO{LeaveRequestDTO: NewLeaveRequestDTO(l.LeaveRequest),
			StudentName: l.StudentName, StudentNo: l.StudentNo, Grade: l.Grade, Class: l.ClassName})
	}
	return c.JSON(out)
}
