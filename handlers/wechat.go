package handlers

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
	"kehou/wechat"
)

// Answers to WeChat's failures. None is a 500: a busy or misconfigured
// WeChat is a 503 the mini-program can retry; a bad code is the client's.
var (
	ErrWeChatBusy          = &models.Error{Kind: models.KindUnavailable, Code: "wechat_busy", Message: "微信服务繁忙，请稍后再试", RetryAfter: 3}
	ErrWeChatUnavailable   = &models.Error{Kind: models.KindUnavailable, Code: "wechat_unavailable", Message: "暂时无法连接微信服务，请稍后再试", RetryAfter: 5}
	ErrWeChatNotConfigured = &models.Error{Kind: models.KindUnavailable, Code: "wechat_not_configured", Message: "微信登录暂不可用", RetryAfter: 60}
	ErrWeChatRateLimited   = &models.Error{Kind: models.KindRateLimited, Code: "rate_limited", Message: "请求过于频繁，请稍后再试", RetryAfter: 60}
	ErrInvalidWeChatCode   = models.E(models.KindInvalid, "invalid_code", "微信授权码无效或已使用，请重新授权")
	ErrRiskyUser           = models.E(models.KindForbidden, "risky_user", "该微信账号存在风险，暂时无法登录")
)

// wechatError maps an error of the WeChat client to an answer, logging what
// the operator needs (operation and errcode; never a code, token or key).
func (h *API) wechatError(c *fiber.Ctx, op string, err error) error {
	var we *wechat.Error
	if !errors.As(err, &we) {
		h.Log.WarnContext(c.UserContext(), "wechat unreachable", "request_id", RequestID(c), "op", op, "error", err.Error())
		return ErrWeChatUnavailable
	}
	switch we.Code {
	case wechat.CodeBusy:
		return ErrWeChatBusy
	case wechat.CodeInvalidCode, wechat.CodeCodeUsed:
		return ErrInvalidWeChatCode
	case wechat.CodeRateLimited:
		h.Log.WarnContext(c.UserContext(), "wechat rate limit reached", "request_id", RequestID(c), "op", op)
		return ErrWeChatRateLimited
	case wechat.CodeRiskyUser:
		return ErrRiskyUser
	}
	msg := "wechat error"
	if wechat.IsMisconfigured(err) || we.Code == wechat.CodeInvalidToken {
		msg = "wechat rejected our credentials: check WECHAT_APPID and WECHAT_SECRET"
	}
	h.Log.ErrorContext(c.UserContext(), msg, "request_id", RequestID(c), "op", op, "errcode", we.Code, "errmsg", we.Msg)
	return ErrWeChatUnavailable
}

type wechatCodeRequest struct {
	Code string `json:"code"`
}

// wechatCode reads the `{code}` body of the WeChat endpoints (a wx.login or
// getPhoneNumber code), checks its shape, and that WeChat is configured.
func (h *API) wechatCode(c *fiber.Ctx) (string, error) {
	var in wechatCodeRequest
	if err := decodeJSON(c, &in); err != nil {
		return "", err
	}
	code := strings.TrimSpace(in.Code)
	if code == "" || len(code) > 256 {
		return "", &models.ValidationError{Fields: map[string]string{"code": "微信授权码必填"}}
	}
	if h.WeChat == nil {
		return "", ErrWeChatNotConfigured
	}
	return code, nil
}

// WeChatLogin is POST /api/v1/auth/wechat: a wx.login code → tokens and the
// parent user, created on the first login. WeChat's session key is dropped
// here: kehou neither stores nor returns it.
func (h *API) WeChatLogin(c *fiber.Ctx) error {
	code, err := h.wechatCode(c)
	if err != nil {
		return err
	}
	s, err := h.WeChat.Code2Session(c.UserContext(), code)
	if err != nil {
		return h.wechatError(c, "jscode2session", err)
	}
	u, err := models.LoginWeChat(c.UserContext(), h.DB, models.WeChatIdentity{OpenID: s.OpenID, UnionID: s.UnionID})
	if err != nil {
		return err
	}
	p, err := h.IssuePair(c, u)
	if err != nil {
		return err
	}
	dto := NewUserDTO(u)
	p.User = &dto
	// The children come with the login, so a launch needs no GET /me.
	kids, err := h.children(c, u.ID)
	if err != nil {
		return err
	}
	p.Children = &kids
	return c.JSON(p)
}

// PhoneBindingDTO is the answer of POST /api/v1/me/phone.
type PhoneBindingDTO struct {
	PhoneMasked string     `json:"phone_masked"`
	Children    []ChildDTO `json:"children"`
}

// BindPhone is POST /api/v1/me/phone: a getPhoneNumber code → the verified
// phone (masked) and the parent's children, now including every student
// whose imported guardian phone matches.
func (h *API) BindPhone(c *fiber.Ctx) error {
	code, err := h.wechatCode(c)
	if err != nil {
		return err
	}
	p, err := h.WeChat.PhoneNumber(c.UserContext(), code)
	if err != nil {
		return h.wechatError(c, "getuserphonenumber", err)
	}
	phone := p.Number()
	kids, err := models.BindPhone(c.UserContext(), h.DB, CurrentActor(c).UserID, phone)
	if err != nil {
		return err
	}
	ds, err := h.childDTOs(c, kids)
	if err != nil {
		return err
	}
	return c.JSON(PhoneBindingDTO{PhoneMasked: models.MaskPhone(phone), Children: ds})
}

// childDTOs are the DTOs of a parent's children, each with its live
// enrollments (two queries for all of them), so "my children" costs no
// call per child.
func (h *API) childDTOs(c *fiber.Ctx, kids []models.Child) ([]ChildDTO, error) {
	ids := make([]int64, 0, len(kids))
	for _, k := range kids {
		ids = append(ids, k.Student.ID)
	}
	es, err := models.FindLiveEnrollments(c.UserContext(), h.DB, ids)
	if err != nil {
		return nil, err
	}
	ds, err := h.enrollmentDTOs(c, es)
	if err != nil {
		return nil, err
	}
	by := map[int64][]EnrollmentDTO{}
	for _, d := range ds {
		by[d.StudentID] = append(by[d.StudentID], d)
	}
	out := make([]ChildDTO, 0, len(kids))
	for _, k := range kids {
		en := by[k.Student.ID]
		if en == nil {
			en = []EnrollmentDTO{}
		}
		out = append(out, ChildDTO{StudentDTO: NewStudentDTO(k.Student), SchoolName: k.SchoolName, Enrollments: en})
	}
	return out, nil
}

type bindChildRequest struct {
	SchoolID    int64  `json:"school_id"`
	StudentNo   string `json:"student_no"`
	Name        string `json:"name"`
	BindingCode string `json:"binding_code"`
}

// BindChild is POST /api/v1/me/children: school + student number + name +
// a one-time binding code → that child, linked. Any wrong part is the same
// 422 binding_failed; repeated failures are 429 with Retry-After.
func (h *API) BindChild(c *fiber.Ctx) error {
	var in bindChildRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	k, err := models.BindChild(c.UserContext(), h.DB, CurrentActor(c), models.ChildBinding{SchoolID: in.SchoolID,
		StudentNo: in.StudentNo, Name: in.Name, Code: in.BindingCode}, h.now())
	if err != nil {
		return err
	}
	ds, err := h.childDTOs(c, []models.Child{k})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(ds[0])
}

// BindingCodeDTO is a freshly issued binding code; the code is shown once.
type BindingCodeDTO struct {
	StudentID int64  `json:"student_id"`
	Code      string `json:"code"`
	ExpiresAt string `json:"expires_at"`
}

// IssueBindingCode is POST /api/v1/students/{id}/binding-codes (school admin
// of the student's school).
func (h *API) IssueBindingCode(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	bc, err := models.IssueBindingCode(c.UserContext(), h.DB, CurrentActor(c), id, h.now())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(BindingCodeDTO{StudentID: bc.StudentID, Code: bc.Code, ExpiresAt: rfc3339(bc.ExpiresAt)})
}
