package handlers

import (
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// TokenPair is the answer of every login and refresh.
type TokenPair struct {
	AccessToken  string   `json:"access_token"`
	RefreshToken string   `json:"refresh_token"`
	TokenType    string   `json:"token_type"`
	ExpiresIn    int      `json:"expires_in"`
	User         *UserDTO `json:"user,omitempty"`
	// Children (a parent's WeChat login only): as in GET /me.
	Children *[]ChildDTO `json:"children,omitempty"`
}

// UserDTO is a user in API answers; the phone appears only masked.
type UserDTO struct {
	ID          int64       `json:"id"`
	Role        models.Role `json:"role"`
	Username    string      `json:"username,omitempty"`
	DisplayName string      `json:"display_name"`
	SchoolID    *int64      `json:"school_id,omitempty"`
	RegionID    *int64      `json:"region_id,omitempty"`
	PhoneMasked string      `json:"phone_masked,omitempty"`
	Disabled    bool        `json:"disabled"`
	// CreatedBy is the user who made the account (absent: the shell or
	// WeChat).
	CreatedBy *int64 `json:"created_by,omitempty"`
	// MustChangePassword: the owner has not yet set a password of their own.
	MustChangePassword bool   `json:"must_change_password"`
	CreatedAt          string `json:"created_at"`
}

// NewUserDTO maps a user to its DTO.
func NewUserDTO(u models.User) UserDTO {
	d := UserDTO{ID: u.ID, Role: u.Role, Username: deref(u.Username), DisplayName: u.DisplayName,
		SchoolID: u.SchoolID, RegionID: u.RegionID, Disabled: u.Disabled, CreatedBy: u.CreatedBy,
		MustChangePassword: u.MustChangePassword, CreatedAt: rfc3339(u.CreatedAt)}
	if u.Phone != "" {
		d.PhoneMasked = models.MaskPhone(u.Phone)
	}
	return d
}

// IssuePair signs an access token for u and starts a refresh-token family.
func (h *API) IssuePair(c *fiber.Ctx, u models.User) (TokenPair, error) {
	rt, err := models.IssueRefreshToken(c.UserContext(), h.DB, u.ID)
	if err != nil {
		return TokenPair{}, err
	}
	return h.pair(u, rt, h.now())
}

// pair signs an access token for u issued at and pairs it with refresh.
func (h *API) pair(u models.User, refresh string, at time.Time) (TokenPair, error) {
	access, err := h.Tokens.Sign(u.Actor(), at)
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
		ExpiresIn: int(h.Tokens.TTL.Seconds())}, nil
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Login is POST /api/v1/auth/login: staff username + password → tokens.
func (h *API) Login(c *fiber.Ctx) error {
	var in loginRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	var v models.Validator
	in.Username = strings.TrimSpace(in.Username)
	v.Check(in.Username != "" && len(in.Username) <= 64, "username", "用户名必填")
	v.Check(in.Password != "" && len(in.Password) <= 128, "password", "密码必填")
	if err := v.Err(); err != nil {
		return err
	}
	u, err := models.Authenticate(c.UserContext(), h.DB, models.Credentials{Username: in.Username, Password: in.Password,
		ClientAddr: ClientAddr(c)})
	var pcr *models.PasswordChangeRequired
	if errors.As(err, &pcr) {
		return c.Status(fiber.StatusForbidden).JSON(PasswordChangeBody{
			ErrorBody: ErrorBody{Code: models.ErrPasswordChangeRequired.Code,
				Message: models.ErrPasswordChangeRequired.Message, RequestID: RequestID(c)},
			ChangeToken: pcr.Token, ExpiresIn: int(pcr.TTL.Seconds())})
	}
	if err != nil {
		return err
	}
	p, err := h.IssuePair(c, u)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

// PasswordChangeBody is the 403 password_change_required answer of a
// correct login to an account whose owner must first set its password:
// the error body plus the single-use token for POST /api/v1/auth/password.
type PasswordChangeBody struct {
	ErrorBody
	ChangeToken string `json:"change_token"`
	ExpiresIn   int    `json:"expires_in"`
}

type passwordRequest struct {
	ChangeToken string `json:"change_token"`
	NewPassword string `json:"new_password"`
}

// SetPassword is POST /api/v1/auth/password: the owner of an account made
// by another user sets their own password with the change token their
// login answered, and gets the tokens of a login.
func (h *API) SetPassword(c *fiber.Ctx) error {
	var in passwordRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	var v models.Validator
	v.Check(in.ChangeToken != "" && len(in.ChangeToken) <= 256, "change_token", "设置密码的凭证必填")
	v.Check(in.NewPassword != "" && len(in.NewPassword) <= 128, "new_password", "新密码必填")
	if err := v.Err(); err != nil {
		return err
	}
	u, err := models.ChangePasswordWithToken(c.UserContext(), h.DB, in.ChangeToken, in.NewPassword)
	if err != nil {
		return err
	}
	p, err := h.IssuePair(c, u)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// Refresh is POST /api/v1/auth/refresh: spends a refresh token for a new
// pair. Within models.RefreshReplayGrace the same token answers the same
// pair again, with Idempotent-Replayed: true.
func (h *API) Refresh(c *fiber.Ctx) error {
	var in refreshRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.RefreshToken == "" || len(in.RefreshToken) > 256 {
		return &models.ValidationError{Fields: map[string]string{"refresh_token": "刷新令牌必填"}}
	}
	rot, err := models.RotateRefreshToken(c.UserContext(), h.DB, in.RefreshToken, h.now())
	if err != nil {
		return err
	}
	// A replay (an answer lost on the way, retried within the grace) is
	// the same pair, signed at the same instant; expires_in is what is left
	// of the access token's life.
	p, err := h.pair(rot.User, rot.Token, rot.IssuedAt)
	if err != nil {
		return err
	}
	if rot.Replayed {
		c.Set("Idempotent-Replayed", "true")
		left := rot.IssuedAt.Add(h.Tokens.TTL).Sub(h.now())
		p.ExpiresIn = max(1, int((left+time.Second-1)/time.Second))
	}
	return c.JSON(p)
}

// ChildDTO is a parent's view of a linked child, with its live enrollments
// (enrolled, waitlisted, applied).
type ChildDTO struct {
	StudentDTO
	SchoolName  string          `json:"school_name"`
	Enrollments []EnrollmentDTO `json:"enrollments"`
}

// MeDTO is GET /api/v1/me. Children is set for a parent only, and then
// always present, [] before the first child is linked.
type MeDTO struct {
	UserDTO
	Children *[]ChildDTO `json:"children,omitempty"`
}

// Me is GET /api/v1/me: the caller, and a parent's children.
func (h *API) Me(c *fiber.Ctx) error {
	a := CurrentActor(c)
	u, err := models.FindUserByID(c.UserContext(), h.DB, a.UserID)
	if err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return models.ErrInvalidToken
		}
		return err
	}
	out := MeDTO{UserDTO: NewUserDTO(u)}
	if u.Role == models.RoleParent {
		kids, err := h.children(c, u.ID)
		if err != nil {
			return err
		}
		out.Children = &kids
	}
	return c.JSON(out)
}

// children lists a parent's children as DTOs (never nil).
func (h *API) children(c *fiber.Ctx, userID int64) ([]ChildDTO, error) {
	kids, err := models.ChildrenOf(c.UserContext(), h.DB, userID)
	if err != nil {
		return nil, err
	}
	return h.childDTOs(c, kids)
}
