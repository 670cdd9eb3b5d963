package handlers

import (
	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// RegionDTO is a region in API answers.
type RegionDTO struct {
	ID        int64  `json:"id"`
	ParentID  *int64 `json:"parent_id"`
	Name      string `json:"name"`
	Code      string `json:"code"`
	Level     int    `json:"level"`
	CreatedAt string `json:"created_at"`
}

type newRegionRequest struct {
	Name     string `json:"name"`
	Code     string `json:"code"`
	ParentID *int64 `json:"parent_id"`
}

// CreateRegion is POST /api/v1/regions (platform admin).
func (h *API) CreateRegion(c *fiber.Ctx) error {
	var in newRegionRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	r, err := models.CreateRegion(c.UserContext(), h.DB, CurrentActor(c),
		models.NewRegion{Name: in.Name, Code: in.Code, ParentID: in.ParentID})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(RegionDTO{ID: r.ID, ParentID: r.ParentID, Name: r.Name,
		Code: r.Code, Level: r.Level, CreatedAt: rfc3339(r.CreatedAt)})
}

// SchoolDTO is a school in API answers.
type SchoolDTO struct {
	ID        int64   `json:"id"`
	RegionID  int64   `json:"region_id"`
	Name      string  `json:"name"`
	Code      *string `json:"code"`
	Status    string  `json:"status"`
	ClosedAt  *string `json:"closed_at"`
	CreatedAt string  `json:"created_at"`
}

// NewSchoolDTO maps a school to its DTO.
func NewSchoolDTO(s models.School) SchoolDTO {
	d := SchoolDTO{ID: s.ID, RegionID: s.RegionID, Name: s.Name, Code: s.Code, Status: s.Status, CreatedAt: rfc3339(s.CreatedAt)}
	if d.Status == "" {
		d.Status = models.SchoolActive
	}
	if s.ClosedAt != nil {
		d.ClosedAt = ptr(rfc3339(*s.ClosedAt))
	}
	return d
}

type newSchoolRequest struct {
	Name     string  `json:"name"`
	RegionID int64   `json:"region_id"`
	Code     *string `json:"code"`
}

// CreateSchool is POST /api/v1/schools (platform or bureau admin).
func (h *API) CreateSchool(c *fiber.Ctx) error {
	var in newSchoolRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	s, err := models.CreateSchool(c.UserContext(), h.DB, CurrentActor(c),
		models.NewSchool{Name: in.Name, RegionID: in.RegionID, Code: in.Code})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(NewSchoolDTO(s))
}

// GetSchool is GET /api/v1/schools/{id} (staff in scope; others 404).
func (h *API) GetSchool(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	s, err := models.FindSchoolInScope(c.UserContext(), h.DB, CurrentActor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(NewSchoolDTO(s))
}
