package models

import (
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"gorm.io/gorm"
)

// Kind classifies an Error for the edges: handlers map it to an HTTP status,
// jobs to a run status. models itself knows nothing of HTTP.
type Kind int

// The kinds of failure a caller can act on.
const (
	KindInvalid      Kind = iota + 1 // the input breaks a rule (422)
	KindNotFound                     // no such object, or not in the caller's tenant (404)
	KindConflict                     // the state forbids it (409)
	KindForbidden                    // the caller may not (403)
	KindUnauthorized                 // not authenticated (401)
	KindRateLimited                  // too many attempts (429)
	KindUnavailable                  // a dependency is down; retry later (503)
	KindBadRequest                   // malformed request (400)
	KindTooLarge                     // body or file too large (413)
)

// Error is the one error type models returns for outcomes a caller can act
// on: a stable snake_case Code, a zh-CN Message, and a Kind.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	// RetryAfter, in seconds, for KindRateLimited and KindUnavailable.
	RetryAfter int
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is makes errors.Is match on Code, so a sentinel matches a copy with a
// different message. Two sentinels that share a Code match each other too:
// errOfferingUnavailable is ErrNotFound with a message naming the offering,
// and errors.Is(err, ErrNotFound) holds for it, on purpose (the edge answers
// both 404 not_found).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// E builds an Error.
func E(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// WithMessage returns a copy of e with another message.
func (e *Error) WithMessage(format string, args ...any) *Error {
	c := *e
	c.Message = fmt.Sprintf(format, args...)
	return &c
}

// The named errors, by resource. errors.Is matches them by Code (see
// Error.Is), so a copy made by WithMessage still matches its sentinel.

// Errors shared across the domain.
var (
	ErrNotFound     = E(KindNotFound, "not_found", "资源不存在")
	ErrForbidden    = E(KindForbidden, "forbidden", "没有权限执行此操作")
	ErrConflict     = E(KindConflict, "conflict", "与现有数据冲突")
	ErrRateLimited  = E(KindRateLimited, "rate_limited", "请求过于频繁，请稍后再试")
	ErrUnavailable  = E(KindUnavailable, "unavailable", "服务暂时不可用，请稍后再试")
	ErrCodeTaken    = E(KindConflict, "code_taken", "编码已存在")
	ErrNoSnapshot   = E(KindNotFound, "no_snapshot", "该日期的统计数据尚未生成")
	ErrInvalidToken = E(KindUnauthorized, "invalid_token", "令牌无效或已过期")
)

// Errors of users and authentication.
var (
	ErrUnauthorized   = E(KindUnauthorized, "unauthorized", "未登录或登录已过期")
	ErrBadCredentials = E(KindUnauthorized, "invalid_credentials", "用户名或密码错误")
	ErrTokenReused    = E(KindUnauthorized, "token_reused", "刷新令牌已被使用，请重新登录")
	ErrUsernameTaken  = E(KindConflict, "username_taken", "用户名已存在")
	ErrAboveScope     = E(KindForbidden, "above_scope", "不能创建超出自身权限范围的用户")
)

// Errors of offerings.
var (
	// ErrInvalidStatus is returned for a lifecycle step the offering's
	// status does not allow.
	ErrInvalidStatus = E(KindConflict, "invalid_status", "当前状态不允许此操作")
)

// Errors of enrollments (SPEC's enrollment rules) and withdrawals.
var (
	ErrFull             = E(KindConflict, "full", "名额已满")
	ErrAlreadyEnrolled  = E(KindConflict, "already_enrolled", "该学生已报名此项目")
	ErrScheduleConflict = E(KindConflict, "schedule_conflict", "与已报名的社团时间冲突")
	ErrLimitReached     = E(KindConflict, "limit_reached", "已达到本学期可报名社团数量上限")
	ErrWindowClosed     = E(KindConflict, "window_closed", "不在报名时间内")
	ErrGradeNotEligible = E(KindInvalid, "grade_not_eligible", "该学生所在年级不可报名此项目")
	ErrNotOpen          = E(KindConflict, "not_open", "该项目未开放报名")
	ErrStudentInactive  = E(KindInvalid, "student_inactive", "该学生已不在籍")
	// ErrSchoolMismatch answers an enrollment of a student into an
	// offering of another school that the caller may see.
	ErrSchoolMismatch = E(KindInvalid, "school_mismatch", "该学生与项目不属于同一学校")
	ErrNotLive        = E(KindConflict, "not_live", "该报名已退出或未录取")
	// ErrBusy answers an enrollment that arrives while the write path
	// already has as many enrollments queued as it may: 429 (the server is
	// healthy and shedding load, not failing), and the client retries after
	// RetryAfter seconds. Nothing was written.
	ErrBusy              = &Error{Kind: KindRateLimited, Code: "busy", Message: "当前报名人数过多，请稍后重试", RetryAfter: 1}
	ErrIdempotencyReused = E(KindInvalid, "idempotency_key_reused", "Idempotency-Key 已用于另一个请求")
	ErrBadIdempotencyKey = E(KindBadRequest, "bad_idempotency_key", "Idempotency-Key 须为1-100个可见字符")
	// errOfferingUnavailable is the not_found of an offering the caller may
	// not see (a draft or cancelled one, for a parent).
	errOfferingUnavailable = E(KindNotFound, "not_found", "项目不存在")
)

// Errors of the lottery.
var (
	// ErrNothingToDraw is returned when a term has no lottery offering
	// whose window has closed and that has not been drawn yet.
	ErrNothingToDraw = E(KindConflict, "nothing_to_draw", "没有待抽签的项目（报名未截止或已抽签）")
	// ErrSeedNotAllowed refuses a seed passed to a draw: seeds are
	// committed at publication, nobody chooses one (lottery_seed.go).
	ErrSeedNotAllowed = &ValidationError{Fields: map[string]string{
		"seed": "抽签种子在项目发布时已由系统生成并公示其 SHA-256，不能指定"}}
)

// Errors of surveys.
var (
	ErrSurveyClosed     = E(KindConflict, "survey_closed", "问卷不在作答时间内")
	ErrAlreadyResponded = E(KindConflict, "already_responded", "该学生已提交过此问卷")
)

// Errors of jobs.
var (
	ErrUnknownJob = E(KindNotFound, "unknown_job", "没有这个任务")
	ErrJobRunning = E(KindConflict, "job_running", "该任务正在运行")
)

// Errors of authentication and accounts (sessions, throttling, passwords).
var (
	// ErrTokenExpired is a well-signed access token past its exp: the
	// client refreshes, where ErrInvalidToken means log in again.
	ErrTokenExpired = E(KindUnauthorized, "token_expired", "登录已过期，请刷新令牌")
	// ErrTokenRevoked is an access token older than its user's token
	// version (disabled, demoted, moved, logged out everywhere): the
	// client refreshes, which fails for a disabled user.
	ErrTokenRevoked = E(KindUnauthorized, "token_revoked", "登录状态已失效，请重新登录")
	// ErrLoginLocked answers a password login for a username locked by
	// recent failures (429 with Retry-After).
	ErrLoginLocked = E(KindRateLimited, "login_locked", "登录失败次数过多，请稍后再试")
	// ErrModifySelf refuses an admin's change to their own account (a
	// demotion or a disable would lock them out; a promotion is above
	// scope anyway).
	ErrModifySelf = E(KindConflict, "cannot_modify_self", "不能修改自己的账号")
	// ErrPasswordChangeRequired answers a correct login to an account made
	// by another user whose password was not yet set by its owner (403,
	// with a change token: see PasswordChangeRequired).
	ErrPasswordChangeRequired = E(KindForbidden, "password_change_required", "首次登录须先设置自己的密码")
	// ErrInvalidChangeToken is an unknown, spent or expired password change
	// token.
	ErrInvalidChangeToken = E(KindUnauthorized, "invalid_change_token", "设置密码的凭证无效或已过期，请重新登录")
)

// ValidationError reports invalid fields: field name → zh-CN message.
type ValidationError struct {
	Fields map[string]string
	// First is the field checked first (Validator); its message is the
	// answer's message.
	First string
}

// Message is the message of the first field checked (or, when unknown,
// of the field first by name): the text a screen shows.
func (v *ValidationError) Message() string {
	if m, ok := v.Fields[v.First]; ok {
		return m
	}
	keys := make([]string, 0, len(v.Fields))
	for k := range v.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return "字段校验失败"
	}
	return v.Fields[keys[0]]
}

func (v *ValidationError) Error() string {
	keys := make([]string, 0, len(v.Fields))
	for k := range v.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return "invalid fields: " + strings.Join(keys, ", ")
}

// Errors of attendance: sessions, the roll, leave and dismissal.
var (
	ErrSessionNotStarted = E(KindConflict, "session_not_started", "本节课尚未开始，开始后才能点名")
	ErrSessionCancelled  = E(KindConflict, "session_cancelled", "本节课已停课")
	ErrSessionMarked     = E(KindConflict, "session_marked", "本节课已点名，不能停课")
	ErrRollClosed        = E(KindForbidden, "roll_closed", "当天点名已结束，更正往日考勤须由学校管理员填写原因")
	ErrNotYourSession    = E(KindForbidden, "not_your_session", "只能查看和点名自己任教的课程")
	ErrNotOnRoll         = E(KindInvalid, "not_on_roll", "该学生不在本节课的名单上")
	ErrNotPresent        = E(KindInvalid, "not_present", "只能为本节课出勤或迟到的学生登记离校")
	ErrAlreadyDismissed  = E(KindInvalid, "already_dismissed", "已登记离校的学生只能记为出勤或迟到")
	ErrLeaveStarted      = E(KindConflict, "leave_started", "请假覆盖的课程已开始，不能撤销")
	ErrLeaveCancelled    = E(KindConflict, "leave_cancelled", "该请假已撤销")
	ErrBadCursor         = E(KindBadRequest, "bad_cursor", "cursor 无效")
)

// Validator collects field errors; Err returns nil when there are none.
type Validator struct {
	fields map[string]string
	first  string
}

// Check records message for field when ok is false (the first message wins).
func (v *Validator) Check(ok bool, field, message string) {
	if ok {
		return
	}
	if v.fields == nil {
		v.fields = map[string]string{}
	}
	if _, dup := v.fields[field]; !dup {
		v.fields[field] = message
	}
	if v.first == "" {
		v.first = field
	}
}

// Err returns a *ValidationError, or nil.
func (v *Validator) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: v.fields, First: v.first}
}

// RowError is one invalid cell of an imported file; Row counts data rows from 1.
type RowError struct {
	Row     int    `json:"row"`
	Field   string `json:"field"`
	Message string `json:"message"`
	// Value is the cell as found (a phone masked); StudentNo the row's
	// student number: both repeated so the row can be found without
	// counting.
	Value     string `json:"value,omitempty"`
	StudentNo string `json:"student_no,omitempty"`
	// Line is the row's number in the file as a spreadsheet shows it (the
	// header's line plus Row), Column the header's cell of the refused
	// column as the file writes it (家长联系电话), Cell its reference (G5):
	// set by RosterReader.Locate, so a page can point at the cell without
	// reading the file again.
	Line   int    `json:"line,omitempty"`
	Column string `json:"column,omitempty"`
	Cell   string `json:"cell,omitempty"`
}

// ImportError reports every invalid row of an import; nothing was written.
type ImportError struct {
	Errors []RowError
}

func (e *ImportError) Error() string { return fmt.Sprintf("import: %d invalid cells", len(e.Errors)) }

// "Not found" is detected one way: GORM's ErrRecordNotFound (Take, First)
// or database/sql's ErrNoRows (translateNoRows) become ErrNotFound through
// notFound, and a raw query expecting one row reads it with scanOne. No
// code asks whether an ID is zero or a slice empty to mean "not found".

// notFound translates GORM's ErrRecordNotFound into ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}

// scanOne scans the first row of q into dst, or answers ErrNotFound when q
// returned none.
func scanOne(q *gorm.DB, dst any) error {
	res := q.Scan(dst)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// ignoreNotFound is err, unless it says "not found".
func ignoreNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// translateNoRows turns database/sql's ErrNoRows into GORM's
// ErrRecordNotFound, so notFound translates both.
func translateNoRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return gorm.ErrRecordNotFound
	}
	return err
}

// Errors of guardian links (links_add.go).
var (
	ErrTooManyChildren = E(KindConflict, "too_many_children", "该家长账号在本校关联的学生已达上限")
)
