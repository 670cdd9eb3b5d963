package handlers

import (
	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// EnrollmentDTO is an enrollment in API answers: the consent record (who
// applied, when) included. waitlist_position is always present (null unless
// waitlisted): SPEC's example names it among the answer's fields.
type EnrollmentDTO struct {
	ID               int64   `json:"id"`
	StudentID        int64   `json:"student_id"`
	OfferingID       int64   `json:"offering_id"`
	Status           string  `json:"status"`
	WaitlistPosition *int    `json:"waitlist_position"`
	Rank             int     `json:"rank"`
	AppliedBy        int64   `json:"applied_by"`
	CreatedAt        string  `json:"created_at"`
	WithdrawnBy      *int64  `json:"withdrawn_by,omitempty"`
	WithdrawnAt      *string `json:"withdrawn_at,omitempty"`
	// A seat with an order (docs/fees.md): pending_payment until paid.
	OrderID       *int64  `json:"order_id,omitempty"`
	AmountFen     *int64  `json:"amount_fen,omitempty"`
	HoldExpiresAt *string `json:"hold_expires_at,omitempty"`
}

// NewEnrollmentDTO maps an enrollment to its DTO.
func NewEnrollmentDTO(e models.Enrollment) EnrollmentDTO {
	d := EnrollmentDTO{ID: e.ID, StudentID: e.StudentID, OfferingID: e.OfferingID, Status: string(e.Status),
		WaitlistPosition: e.WaitlistPosition, Rank: e.Rank, AppliedBy: e.AppliedBy, CreatedAt: rfc3339(e.CreatedAt),
		WithdrawnBy: e.WithdrawnBy, OrderID: e.OrderID, AmountFen: e.AmountFen}
	if e.WithdrawnAt != nil {
		d.WithdrawnAt = ptr(rfc3339(*e.WithdrawnAt))
	}
	if e.HoldExpiresAt != nil && e.Status == models.StatusPendingPayment {
		d.HoldExpiresAt = ptr(rfc3339(*e.HoldExpiresAt))
	}
	return d
}

type enrollRequest struct {
	StudentID  int64 `json:"student_id"`
	OfferingID int64 `json:"offering_id"`
	Rank       *int  `json:"rank"`
}

// HeaderIdempotencyKey names the request header that makes POST
// /enrollments safe to retry.
const HeaderIdempotencyKey = "Idempotency-Key"

// Enroll is POST /api/v1/enrollments (linked guardian or school staff) →
// 201. With an Idempotency-Key a retry replays the first answer (marked by
// the Idempotent-Replayed header).
func (h *API) Enroll(c *fiber.Ctx) error {
	var in enrollRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	var v models.Validator
	v.Check(in.StudentID > 0, "student_id", "学生必填")
	v.Check(in.OfferingID > 0, "offering_id", "项目必填")
	if err := v.Err(); err != nil {
		return err
	}
	e, err := models.Enroll(c.UserContext(), h.DB, models.NewEnrollment{Actor: CurrentActor(c), StudentID: in.StudentID,
		OfferingID: in.OfferingID, Rank: in.Rank, IdempotencyKey: c.Get(HeaderIdempotencyKey), Now: h.now()})
	if err != nil {
		return models.ExplainEnrollError(c.UserContext(), h.DB, in.StudentID, in.OfferingID, err)
	}
	if e.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	h.caches().lists.noteWrite(CurrentActor(c).UserID)
	return c.Status(fiber.StatusCreated).JSON(NewEnrollmentDTO(e))
}

// Withdraw is DELETE /api/v1/enrollments/{id} (linked guardian or school
// staff): 200 with the withdrawn enrollment; a freed seat goes to the head
// of the waitlist.
func (h *API) Withdraw(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	e, err := models.Withdraw(c.UserContext(), h.DB, CurrentActor(c), id)
	if err != nil {
		return err
	}
	h.caches().lists.noteWrite(CurrentActor(c).UserID)
	return c.JSON(NewEnrollmentDTO(e))
}

// StudentEnrollmentDTO is an enrollment with its offering's name, kind and
// slot.
type StudentEnrollmentDTO struct {
	EnrollmentDTO
	OfferingName string `json:"offering_name"`
	Kind         string `json:"kind"`
	Weekdays     []int  `json:"weekdays"`
	StartTime    string `json:"start_time"`
	EndTime      string `json:"end_time"`
}

// ListStudentEnrollments is GET /api/v1/students/{id}/enrollments (linked
// guardian or school staff).
func (h *API) ListStudentEnrollments(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	before, limit, err := pageParams(c)
	if err != nil {
		return err
	}
	es, err := models.FindStudentEnrollments(c.UserContext(), h.DB, CurrentActor(c), id, before, limit+1)
	if err != nil {
		return err
	}
	var out Page[StudentEnrollmentDTO]
	es, out.NextCursor = keysetPage(es, limit, func(e models.StudentEnrollment) int64 { return e.ID })
	out.Items = make([]StudentEnrollmentDTO, 0, len(es))
	for _, e := range es {
		out.Items = append(out.Items, StudentEnrollmentDTO{EnrollmentDTO: NewEnrollmentDTO(e.Enrollment),
			OfferingName: e.OfferingName, Kind: e.Kind, Weekdays: models.Unmask(e.Weekdays),
			StartTime: models.FormatClock(e.StartMin), EndTime: models.FormatClock(e.EndMin)})
	}
	return c.JSON(out)
}
