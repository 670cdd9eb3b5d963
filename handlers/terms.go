package handlers

import (
	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// TermDTO is a term in API answers.
type TermDTO struct {
	ID            int64             `json:"id"`
	SchoolID      int64             `json:"school_id"`
	Name          string            `json:"name"`
	StartsOn      string            `json:"starts_on"`
	EndsOn        string            `json:"ends_on"`
	MaxClubs      int               `json:"max_clubs"`
	NoServiceDays []string          `json:"no_service_days"`
	ExtraDays     []models.ExtraDay `json:"extra_days"`
	// Current marks the term a parent's screen opens on
	// (models.CurrentTermID): in session today, else the next to start.
	Current   bool   `json:"current"`
	CreatedAt string `json:"created_at"`
}

// NewTermDTO maps a term to its DTO; current is the school's current term
// id (models.CurrentTermID).
func NewTermDTO(t models.Term, current int64) TermDTO {
	return TermDTO{ID: t.ID, SchoolID: t.SchoolID, Name: t.Name, StartsOn: t.StartsOn, EndsOn: t.EndsOn,
		MaxClubs: t.MaxClubs, NoServiceDays: t.NoService(), ExtraDays: t.Extra(), Current: t.ID == current,
		CreatedAt: rfc3339(t.CreatedAt)}
}

// termAnswer answers one term of the school, marked current or not.
func (h *API) termAnswer(c *fiber.Ctx, status int, t models.Term) error {
	cur, err := models.SchoolCurrentTermID(c.UserContext(), h.DB, t.SchoolID, models.LocalDate(h.now()))
	if err != nil {
		return err
	}
	return c.Status(status).JSON(NewTermDTO(t, cur))
}

type newTermRequest struct {
	Name          string            `json:"name"`
	StartsOn      string            `json:"starts_on"`
	EndsOn        string            `json:"ends_on"`
	MaxClubs      *int              `json:"max_clubs"`
	NoServiceDays []string          `json:"no_service_days"`
	ExtraDays     []models.ExtraDay `json:"extra_days"`
}

// CreateTerm is POST /api/v1/schools/{id}/terms (school admin).
func (h *API) CreateTerm(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var in newTermRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	t, err := models.CreateTerm(c.UserContext(), h.DB, CurrentActor(c), id, models.NewTerm{Name: in.Name,
		StartsOn: in.StartsOn, EndsOn: in.EndsOn, MaxClubs: in.MaxClubs, NoServiceDays: in.NoServiceDays, ExtraDays: in.ExtraDays})
	if err != nil {
		return err
	}
	return h.termAnswer(c, fiber.StatusCreated, t)
}

// ListTerms is GET /api/v1/schools/{id}/terms (staff in scope, linked parents).
func (h *API) ListTerms(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	offset, limit, err := wholePageParams(c)
	if err != nil {
		return err
	}
	ts, err := models.FindTerms(c.UserContext(), h.DB, CurrentActor(c), id)
	if err != nil {
		return err
	}
	cur := models.CurrentTermID(ts, models.LocalDate(h.now()))
	items := make([]TermDTO, 0, len(ts))
	for _, t := range ts {
		items = append(items, NewTermDTO(t, cur))
	}
	return c.JSON(offsetPage(items, offset, limit))
}

// schoolTermIDs reads the {id} (school) and {term_id} path parameters of a
// term's routes.
func schoolTermIDs(c *fiber.Ctx) (schoolID, termID int64, err error) {
	if schoolID, err = idParam(c, "id"); err != nil {
		return 0, 0, err
	}
	if termID, err = idParam(c, "term_id"); err != nil {
		return 0, 0, err
	}
	return schoolID, termID, nil
}
