package handlers

import (
	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

type patchSchoolRequest struct {
	Name   *string `json:"name"`
	Code   *string `json:"code"`
	Status *string `json:"status"`
}

// PatchSchool is PATCH /api/v1/schools/{id} (bureau admin of a region above
// it, platform admin): rename, change the code, close or reopen.
func (h *API) PatchSchool(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var in patchSchoolRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	s, err := models.PatchSchool(c.UserContext(), h.DB, CurrentActor(c), id,
		models.UpdateSchool{Name: in.Name, Code: in.Code, Status: in.Status}, h.now())
	if err != nil {
		return err
	}
	return c.JSON(NewSchoolDTO(s))
}

type patchTermRequest struct {
	Name     *string `json:"name"`
	StartsOn *string `json:"starts_on"`
	EndsOn   *string `json:"ends_on"`
	MaxClubs *int    `json:"max_clubs"`
}

// PatchTerm is PATCH /api/v1/schools/{id}/terms/{term_id} (school admin):
// any field before the term starts, only the name after.
func (h *API) PatchTerm(c *fiber.Ctx) error {
	id, termID, err := schoolTermIDs(c)
	if err != nil {
		return err
	}
	var in patchTermRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	t, err := models.PatchTerm(c.UserContext(), h.DB, CurrentActor(c), id, termID, models.UpdateTerm{
		Name: in.Name, StartsOn: in.StartsOn, EndsOn: in.EndsOn, MaxClubs: in.MaxClubs}, h.now())
	if err != nil {
		return err
	}
	return h.termAnswer(c, fiber.StatusOK, t)
}

// DeleteTerm is DELETE /api/v1/schools/{id}/terms/{term_id} (school admin):
// 204 while no offering and no survey names the term.
func (h *API) DeleteTerm(c *fiber.Ctx) error {
	id, termID, err := schoolTermIDs(c)
	if err != nil {
		return err
	}
	if err := models.DeleteTerm(c.UserContext(), h.DB, CurrentActor(c), id, termID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
