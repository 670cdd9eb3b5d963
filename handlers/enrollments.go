package handlers

import (
	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// Enrollments are answered in one shape, EnrollmentDTO, built here only
// (NewEnrollmentDTO, enrollmentDTOs): what an enrollment says grows in one
// place.

// OfferingSummaryDTO is the one shape in which an enrollment or a session
// names its club.
type OfferingSummaryDTO struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Category  string `json:"category"`
	Teacher   string `json:"teacher"`
	Venue     string `json:"venue"`
	Weekdays  []int  `json:"weekdays"`
	StartTime string `json:"start_time"`
	EndTime   string `json:"end_time"`
	Status    string `json:"status"`
	TermID    int64  `json:"term_id"`
	TermName  string `json:"term_name"`
}

// NewOfferingSummaryDTO maps an offering summary to its DTO.
func NewOfferingSummaryDTO(s models.OfferingSummary) OfferingSummaryDTO {
	return OfferingSummaryDTO{ID: s.ID, Name: s.Name, Kind: s.Kind, Category: s.Category, Teacher: s.Teacher, Venue: s.Venue,
		Weekdays: models.Unmask(s.Weekdays), StartTime: models.FormatClock(s.StartMin), EndTime: models.FormatClock(s.EndMin),
		Status: s.Status, TermID: s.TermID, TermName: s.TermName}
}

// EnrollmentDTO is an enrollment in API answers: the consent record (who
// applied, when) included, and its club (offering). waitlist_position is
// always present (null unless waitlisted): SPEC's example names it among
// the answer's fields. withdraw_reason says why a withdrawn one was
// withdrawn.
type EnrollmentDTO struct {
	ID               int64              `json:"id"`
	StudentID        int64              `json:"student_id"`
	OfferingID       int64              `json:"offering_id"`
	Offering         OfferingSummaryDTO `json:"offering"`
	Status           string             `json:"status"`
	WaitlistPosition *int               `json:"waitlist_position"`
	Rank             int                `json:"rank,omitempty"`
	AppliedBy        int64              `json:"applied_by"`
	AppliedByRole    models.Role        `json:"applied_by_role,omitempty"`
	CreatedAt        string             `json:"created_at"`
	WithdrawnBy      *int64             `json:"withdrawn_by,omitempty"`
	WithdrawnByRole  models.Role        `json:"withdrawn_by_role,omitempty"`
	WithdrawnAt      *string            `json:"withdrawn_at,omitempty"`
	WithdrawReason   *string            `json:"withdraw_reason,omitempty"`
	// A seat with an order (docs/fees.md): pending_payment until paid.
	OrderID       *int64  `json:"order_id,omitempty"`
	AmountFen     *int64  `json:"amount_fen,omitempty"`
	HoldExpiresAt *string `json:"hold_expires_at,omitempty"`
}

// NewEnrollmentDTO maps an enrollment and the summary of its offering to
// the DTO.
func NewEnrollmentDTO(e models.Enrollment, o models.OfferingSummary) EnrollmentDTO {
	d := EnrollmentDTO{ID: e.ID, StudentID: e.StudentID, OfferingID: e.OfferingID, Offering: NewOfferingSummaryDTO(o),
		Status: string(e.Status), WaitlistPosition: e.WaitlistPosition, Rank: e.Rank, AppliedBy: e.AppliedBy,
		CreatedAt: rfc3339(e.CreatedAt), WithdrawnBy: e.WithdrawnBy, WithdrawReason: e.WithdrawReason,
		OrderID: e.OrderID, AmountFen: e.AmountFen}
	if e.WithdrawnAt != nil {
		d.WithdrawnAt = ptr(rfc3339(*e.WithdrawnAt))
	}
	if e.HoldExpiresAt != nil && e.Status == models.StatusPendingPayment {
		d.HoldExpiresAt = ptr(rfc3339(*e.HoldExpiresAt))
	}
	return d
}

// enrollmentDTO is the DTO of e, its offering's summary read from the
// offering cache. An enrollment just made or withdrawn by the caller names
// the caller's role.
func (h *API) enrollmentDTO(c *fiber.Ctx, e models.Enrollment) (EnrollmentDTO, error) {
	o, err := models.FindOfferingSummary(c.UserContext(), h.DB, e.OfferingID)
	if err != nil {
		return EnrollmentDTO{}, err
	}
	d := NewEnrollmentDTO(e, o)
	a := CurrentActor(c)
	roles := map[int64]models.Role{a.UserID: a.Role}
	if (e.AppliedBy != a.UserID) || (e.WithdrawnBy != nil && *e.WithdrawnBy != a.UserID) {
		if roles, err = models.FindUserRoles(c.UserContext(), h.DB, userIDs([]models.Enrollment{e})); err != nil {
			return EnrollmentDTO{}, err
		}
	}
	setRoles(&d, e, roles)
	return d, nil
}

// userIDs are the users who applied for or withdrew es.
func userIDs(es []models.Enrollment) []int64 {
	ids := make([]int64, 0, len(es))
	for _, e := range es {
		ids = append(ids, e.AppliedBy)
		if e.WithdrawnBy != nil {
			ids = append(ids, *e.WithdrawnBy)
		}
	}
	return ids
}

// setRoles names who applied and withdrew by their role.
func setRoles(d *EnrollmentDTO, e models.Enrollment, roles map[int64]models.Role) {
	d.AppliedByRole = roles[e.AppliedBy]
	if e.WithdrawnBy != nil {
		d.WithdrawnByRole = roles[*e.WithdrawnBy]
	}
}

// enrollmentDTOs are the DTOs of es, their offerings' summaries read in
// one query (never nil).
func (h *API) enrollmentDTOs(c *fiber.Ctx, es []models.Enrollment) ([]EnrollmentDTO, error) {
	ids := make([]int64, 0, len(es))
	for _, e := range es {
		ids = append(ids, e.OfferingID)
	}
	sums, err := models.FindOfferingSummaries(c.UserContext(), h.DB, ids)
	if err != nil {
		return nil, err
	}
	roles, err := models.FindUserRoles(c.UserContext(), h.DB, userIDs(es))
	if err != nil {
		return nil, err
	}
	out := make([]EnrollmentDTO, 0, len(es))
	for _, e := range es {
		d := NewEnrollmentDTO(e, sums[e.OfferingID])
		setRoles(&d, e, roles)
		out = append(out, d)
	}
	return out, nil
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
	d, err := h.enrollmentDTO(c, e)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(d)
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
	d, err := h.enrollmentDTO(c, e)
	if err != nil {
		return err
	}
	return c.JSON(d)
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
	ens := make([]models.Enrollment, 0, len(es))
	for _, e := range es {
		ens = append(ens, e.Enrollment)
	}
	ds, err := h.enrollmentDTOs(c, ens)
	if err != nil {
		return err
	}
	out.Items = make([]StudentEnrollmentDTO, 0, len(es))
	for i, e := range es {
		out.Items = append(out.Items, StudentEnrollmentDTO{EnrollmentDTO: ds[i],
			OfferingName: e.OfferingName, Kind: e.Kind, Weekdays: models.Unmask(e.Weekdays),
			StartTime: models.FormatClock(e.StartMin), EndTime: models.FormatClock(e.EndMin)})
	}
	return c.JSON(out)
}
