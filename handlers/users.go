package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

type newUserRequest struct {
	Username    string      `json:"username"`
	Password    string      `json:"password"`
	Role        models.Role `json:"role"`
	SchoolID    *int64      `json:"school_id"`
	RegionID    *int64      `json:"region_id"`
	DisplayName string      `json:"display_name"`
}

// CreateUser is POST /api/v1/users (admins, never above their own scope).
func (h *API) CreateUser(c *fiber.Ctx) error {
	var in newUserRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	u, err := models.CreateUser(c.UserContext(), h.DB, CurrentActor(c), models.NewUser{
		Username: in.Username, Password: in.Password, Role: models.Role(strings.TrimSpace(string(in.Role))),
		SchoolID: in.SchoolID, RegionID: in.RegionID, DisplayName: in.DisplayName})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(NewUserDTO(u))
}

type patchUserRequest struct {
	Disabled *bool        `json:"disabled"`
	Role     *models.Role `json:"role"`
	SchoolID *int64       `json:"school_id"`
	RegionID *int64       `json:"region_id"`
}

// PatchUser is PATCH /api/v1/users/{id}: an admin disables or re-enables a
// user, changes its role or moves it, within the admin's scope. The user's
// access tokens stop working within seconds on every instance.
func (h *API) PatchUser(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var in patchUserRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Disabled == nil && in.Role == nil && in.SchoolID == nil && in.RegionID == nil {
		return &models.ValidationError{Fields: map[string]string{"body": "须至少给出 disabled、role、school_id、region_id 之一"}}
	}
	if in.Role != nil {
		r := models.Role(strings.TrimSpace(string(*in.Role)))
		in.Role = &r
	}
	u, err := models.PatchUser(c.UserContext(), h.DB, CurrentActor(c), id, models.UpdateUser{
		Disabled: in.Disabled, Role: in.Role, SchoolID: in.SchoolID, RegionID: in.RegionID})
	if err != nil {
		return err
	}
	return c.JSON(NewUserDTO(u))
}

type logoutRequest struct {
	RefreshToken string `json:"refresh_token"`
	All          bool   `json:"all"`
}

// Logout is POST /api/v1/auth/logout: revokes the refresh-token family of
// the given token (this device), or with "all" every session of its user,
// access tokens included. It needs no access token (one may have expired);
// the refresh token is the proof. Answers 204 even for an unknown token.
func (h *API) Logout(c *fiber.Ctx) error {
	var in logoutRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.RefreshToken == "" || len(in.RefreshToken) > 256 {
		return &models.ValidationError{Fields: map[string]string{"refresh_token": "刷新令牌必填"}}
	}
	if err := models.Logout(c.UserContext(), h.DB, in.RefreshToken, in.All); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// ListSchoolStaff is GET /api/v1/schools/{id}/staff (the school's admin, a
// platform admin): its teachers and school admins, with display names.
func (h *API) ListSchoolStaff(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	offset, limit, err := wholePageParams(c)
	if err != nil {
		return err
	}
	us, err := models.FindSchoolStaff(c.UserContext(), h.DB, CurrentActor(c), id)
	if err != nil {
		return err
	}
	items := make([]UserDTO, 0, len(us))
	for _, u := range us {
		items = append(items, NewUserDTO(u))
	}
	return c.JSON(offsetPage(items, offset, limit))
}
