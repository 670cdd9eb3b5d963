package wechat

import (
	"errors"
	"strconv"
)

// WeChat's errcodes that kehou acts on.
const (
	CodeBusy          = -1    // system busy; retry later
	CodeInvalidCode   = 40029 // js_code / phone code invalid or expired
	CodeCodeUsed      = 40163 // code already used
	CodeRateLimited   = 45011 // API minute quota reached
	CodeRiskyUser     = 40226 // high-risk user, login blocked
	CodeInvalidAppID  = 40013 // appid invalid
	CodeInvalidSecret = 40125 // secret invalid
	CodeInvalidToken  = 40001 // access token invalid (or secret wrong for a token call)
	CodeTokenExpired  = 42001 // access token expired
	CodeInvalidOpenID = 40003 // touser is not a user of this app
	CodeBadTemplateID = 40037 // template_id invalid
	CodeBadData       = 47003 // template data invalid
	CodeNoConsent     = 43101 // the user has not subscribed (gave no consent)
)

// Error is an errcode WeChat answered (with HTTP 200).
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return "wechat: errcode " + strconv.Itoa(e.Code) + ": " + e.Msg }

// Is makes errors.Is match on Code, so the named errors below match any
// answer with their code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Named errors, for errors.Is.
var (
	ErrBusy          = &Error{Code: CodeBusy, Msg: "system busy"}
	ErrInvalidCode   = &Error{Code: CodeInvalidCode, Msg: "invalid code"}
	ErrCodeUsed      = &Error{Code: CodeCodeUsed, Msg: "code been used"}
	ErrRateLimited   = &Error{Code: CodeRateLimited, Msg: "minute-quota reach limit"}
	ErrRiskyUser     = &Error{Code: CodeRiskyUser, Msg: "high risk user"}
	ErrInvalidAppID  = &Error{Code: CodeInvalidAppID, Msg: "invalid appid"}
	ErrInvalidSecret = &Error{Code: CodeInvalidSecret, Msg: "invalid appsecret"}
	ErrNoConsent     = &Error{Code: CodeNoConsent, Msg: "user refuse to accept the msg"}
)

// ErrUnavailable wraps failures to reach WeChat at all: network errors,
// timeouts, non-200 answers, unreadable JSON.
var ErrUnavailable = errors.New("wechat: unavailable")

// ErrNoTemplate is returned by Notify for a kind with no configured template.
var ErrNoTemplate = errors.New("wechat: no template configured for this kind")

// IsCode reports whether err is a WeChat Error with errcode code.
func IsCode(err error, code int) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// IsMisconfigured reports whether err means our appid or secret is wrong.
func IsMisconfigured(err error) bool {
	return IsCode(err, CodeInvalidAppID) || IsCode(err, CodeInvalidSecret)
}

// IsPermanent reports whether retrying a subscribe message cannot help: the
// user gave no consent, is no user of the app, or the template or its data
// are rejected.
func IsPermanent(err error) bool {
	return IsCode(err, CodeNoConsent) || IsCode(err, CodeInvalidOpenID) || IsCode(err, CodeBadData)
}
