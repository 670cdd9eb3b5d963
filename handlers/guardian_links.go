package handlers

import (
	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// GuardianLinkDTO is a parent account linked to a student, as its school
// sees it; the phone is masked.
type GuardianLinkDTO struct {
	UserID      int64  `json:"user_id"`
	StudentID   int64  `json:"student_id"`
	DisplayName string `json:"display_name"`
	Via         string `json:"via"`
	PhoneMasked string `json:"phone_masked"`
	CreatedAt   string `json:"created_at"`
}

// ListGuardianLinks is GET /api/v1/students/{id}/guardian-links (school
// admin of the student's school): the whole list, one page.
func (h *API) ListGuardianLinks(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	links, err := models.FindGuardianLinks(c.UserContext(), h.DB, CurrentActor(c), id)
	if err != nil {
		return err
	}
	out := Page[GuardianLinkDTO]{Items: make([]GuardianLinkDTO, 0, len(links))}
	for _, l := range links {
		out.Items = append(out.Items, GuardianLinkDTO{UserID: l.UserID, StudentID: l.StudentID, DisplayName: l.DisplayName,
			Via: l.Via, PhoneMasked: maskedOrEmpty(l.Phone), CreatedAt: rfc3339(l.CreatedAt)})
	}
	return c.JSON(out)
}

func maskedOrEmpty(p string) string {
	if p == "" {
		return ""
	}
	return models.MaskPhone(p)
}

// RemoveGuardianLink is DELETE /api/v1/students/{id}/guardian-links/{user_id}
// (school admin of the student's school) → 204.
func (h *API) RemoveGuardianLink(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	userID, err := idParam(c, "user_id")
	if err != nil {
		return err
	}
	if err := models.RemoveGuardianLink(c.UserContext(), h.DB, CurrentActor(c), id, userID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// UnlinkChild is DELETE /api/v1/me/children/{student_id} (the parent) → 204.
func (h *API) UnlinkChild(c *fiber.Ctx) error {
	id, err := idParam(c, "student_id")
	if err != nil {
		return err
	}
	if err := models.UnlinkChild(c.UserContext(), h.DB, CurrentActor(c), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// DeletionRequestDTO is a guardian's request to delete a child's data.
type DeletionRequestDTO struct {
	ID          int64  `json:"id"`
	StudentID   int64  `json:"student_id"`
	SchoolID    int64  `json:"school_id"`
	RequestedBy int64  `json:"requested_by"`
	Reason      string `json:"reason"`
	Status      string `json:"status"`
	CreatedAt   string `json:"created_at"`
	DecidedAt   string `json:"decided_at,omitempty"`
}

func newDeletionRequestDTO(r models.DeletionRequest) DeletionRequestDTO {
	d := DeletionRequestDTO{ID: r.ID, StudentID: r.StudentID, SchoolID: r.SchoolID, RequestedBy: r.RequestedBy,
		Reason: r.Reason, Status: r.Status, CreatedAt: rfc3339(r.CreatedAt)}
	if r.DecidedAt != nil {
		d.DecidedAt = rfc3339(*r.DecidedAt)
	}
	return d
}

type deletionRequestBody struct {
	Reason string `json:"reason"`
}

// RequestDeletion is POST /api/v1/me/children/{student_id}/deletion-request
// (the parent) → 201.
func (h *API) RequestDeletion(c *fiber.Ctx) error {
	id, err := idParam(c, "student_id")
	if err != nil {
		return err
	}
	var in deletionRequestBody
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	}
	r, err := models.RequestDeletion(c.UserContext(), h.DB, CurrentActor(c), id, in.Reason, h.now())
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(newDeletionRequestDTO(r))
}

// ListDeletionRequests is GET /api/v1/schools/{id}/deletion-requests
// (school admin; ?status=pending|done; cursor-paged).
func (h *API) ListDeletionRequests(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	after, limit, err := pageParams(c)
	if err != nil {
		return err
	}
	status := c.Query("status")
	if status != "" && status != models.DeletionPending && status != models.DeletionDone {
		return BadRequest("bad_param", "status 须为 pending 或 done")
	}
	rs, err := models.FindDeletionRequests(c.UserContext(), h.DB, CurrentActor(c), id, status, after, limit+1)
	if err != nil {
		return err
	}
	rs, next := keysetPage(rs, limit, func(r models.DeletionRequest) int64 { return r.ID })
	out := Page[DeletionRequestDTO]{Items: make([]DeletionRequestDTO, 0, len(rs)), NextCursor: next}
	for _, r := range rs {
		out.Items = append(out.Items, newDeletionRequestDTO(r))
	}
	return c.JSON(out)
}

// ConfirmDeletion is POST /api/v1/deletion-requests/{id}/confirm (school
// admin of the request's school): the child's data is erased.
func (h *API) ConfirmDeletion(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	r, err := models.ConfirmDeletion(c.UserContext(), h.DB, CurrentActor(c), id, h.now())
	if err != nil {
		return err
	}
	return c.JSON(newDeletionRequestDTO(r))
}
