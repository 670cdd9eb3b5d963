package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// ErrorBody is the JSON body of every error answer.
type ErrorBody struct {
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	RequestID string            `json:"request_id"`
	Fields    map[string]string `json:"fields,omitempty"`
	Errors    []models.RowError `json:"errors,omitempty"`
	// Conflicts lists the students an offering change would break a rule
	// for (409 enrolled_conflicts).
	Conflicts []models.EnrolledConflict `json:"conflicts,omitempty"`
	// EnrollmentID and EnrollmentStatus name the child's enrollment already
	// in the offering (409 already_enrolled); OfferingID the club an
	// enrollment clashes with (409 schedule_conflict).
	EnrollmentID     int64  `json:"enrollment_id,omitempty"`
	EnrollmentStatus string `json:"enrollment_status,omitempty"`
	OfferingID       int64  `json:"offering_id,omitempty"`
	// StudentID names the child a roll's refusal is about (422
	// already_dismissed), so the roll shows it beside that child.
	StudentID int64 `json:"student_id,omitempty"`
}

var kindStatus = map[models.Kind]int{
	models.KindInvalid:      fiber.StatusUnprocessableEntity,
	models.KindNotFound:     fiber.StatusNotFound,
	models.KindConflict:     fiber.StatusConflict,
	models.KindForbidden:    fiber.StatusForbidden,
	models.KindUnauthorized: fiber.StatusUnauthorized,
	models.KindRateLimited:  fiber.StatusTooManyRequests,
	models.KindUnavailable:  fiber.StatusServiceUnavailable,
	models.KindBadRequest:   fiber.StatusBadRequest,
	models.KindTooLarge:     fiber.StatusRequestEntityTooLarge,
}

// fiberCodes names Fiber's own errors (routing, body limit, bad requests).
var fiberCodes = map[int]ErrorBody{
	fiber.StatusBadRequest:   {Code: "bad_request", Message: "请求格式错误"},
	fiber.StatusUnauthorized: {Code: "unauthorized", Message: "未登录或登录已过期"},
	fiber.StatusForbidden:    {Code: "forbidden", Message: "没有权限执行此操作"},
	// Fiber's 404 is a path no route serves: a code of its own, so a
	// client tells a wrong URL from a missing object (models.ErrNotFound,
	// not_found).
	fiber.StatusNotFound:              {Code: "no_route", Message: "接口不存在"},
	fiber.StatusMethodNotAllowed:      {Code: "method_not_allowed", Message: "不支持该请求方法"},
	fiber.StatusRequestEntityTooLarge: {Code: "too_large", Message: "请求体过大"},
	fiber.StatusUnsupportedMediaType:  {Code: "unsupported_media_type", Message: "不支持的内容类型"},
	fiber.StatusTooManyRequests:       {Code: "rate_limited", Message: "请求过于频繁，请稍后再试"},
	fiber.StatusRequestTimeout:        {Code: "timeout", Message: "请求超时"},
	fiber.StatusServiceUnavailable:    {Code: "unavailable", Message: "服务暂时不可用，请稍后再试"},
}

// BadRequest is a 400 with a stable code.
func BadRequest(code, message string) error {
	return models.E(models.KindBadRequest, code, message)
}

// ErrorHandler is the one place errors become answers: models' named errors
// map to their status and code, Fiber's to theirs, and anything else is
// logged with the request id and answered 500 without detail.
func ErrorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		body := ErrorBody{RequestID: RequestID(c)}
		if body.RequestID == "" {
			body.RequestID = assignRequestID(c)
		}
		status := fiber.StatusInternalServerError
		var (
			me  *models.Error
			ve  *models.ValidationError
			ie  *models.ImportError
			ce  *models.EnrolledConflictsError
			fe  *fiber.Error
			se  *json.SyntaxError
			ute *json.UnmarshalTypeError
		)
		var er *models.EnrollRefusal
		if errors.As(err, &er) {
			body.EnrollmentID, body.EnrollmentStatus, body.OfferingID = er.EnrollmentID, er.EnrollmentStatus, er.OfferingID
		}
		var rr *models.RollRefusal
		if errors.As(err, &rr) {
			body.StudentID = rr.StudentID
		}
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			status, body.Code, body.Message = fiber.StatusServiceUnavailable, "timeout", "请求处理超时，请稍后重试"
		case errors.As(err, &ve):
			status, body.Code, body.Message, body.Fields = fiber.StatusUnprocessableEntity, "invalid_field", ve.Message(), ve.Fields
		case errors.As(err, &ie):
			status, body.Code, body.Message, body.Errors = fiber.StatusUnprocessableEntity, "invalid_rows", "文件中有无效数据，未写入任何记录", ie.Errors
		case errors.As(err, &ce):
			status, body.Code, body.Message, body.Conflicts = fiber.StatusConflict, models.ErrEnrolledConflicts.Code,
				models.ErrEnrolledConflicts.Message, ce.Conflicts
		case errors.As(err, &me):
			status, body.Code, body.Message = kindStatus[me.Kind], me.Code, me.Message
			if status == 0 {
				status = fiber.StatusInternalServerError
			}
			if me.RetryAfter > 0 {
				c.Set(fiber.HeaderRetryAfter, strconv.Itoa(me.RetryAfter))
			}
		case errors.As(err, &ute):
			field, msg := typeFieldError(ute)
			status, body.Code, body.Message = fiber.StatusUnprocessableEntity, "invalid_field", msg
			body.Fields = map[string]string{field: msg}
		case errors.As(err, &se):
			status, body.Code, body.Message = fiber.StatusBadRequest, "bad_json", "JSON 格式错误"
		case errors.As(err, &fe):
			status = fe.Code
			if known, ok := fiberCodes[fe.Code]; ok {
				body.Code, body.Message = known.Code, known.Message
			} else if fe.Code < 500 {
				body.Code, body.Message = "bad_request", "请求无效"
			}
		}
		if status == fiber.StatusServiceUnavailable || status == fiber.StatusTooManyRequests {
			if len(c.Response().Header.Peek(fiber.HeaderRetryAfter)) == 0 {
				c.Set(fiber.HeaderRetryAfter, "1")
			}
		}
		if status >= 500 && body.Code == "" {
			status, body.Code, body.Message = fiber.StatusInternalServerError, "internal", "服务器内部错误"
			log.ErrorContext(c.UserContext(), "request failed", "request_id", body.RequestID,
				"method", c.Method(), "route", routePath(c), "error", err.Error())
		}
		return c.Status(status).JSON(body)
	}
}
