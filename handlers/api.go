// Package handlers is kehou's HTTP edge: request and response DTOs, the auth
// middleware and the one error handler. Handlers parse and check the shape of
// a request, call a models operation, and map its result to JSON.
package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
	"kehou/wechat"
	"kehou/wechat/pay"
)

// API holds what the handlers depend on.
type API struct {
	DB *models.DB
	// WeChat is the WeChat client; nil when WeChat is not configured.
	WeChat *wechat.Client
	// Pay is the WeChat Pay client; nil when payment through WeChat Pay is off.
	Pay    *pay.Client
	Tokens *Tokens
	Log    *slog.Logger
	// Now is the clock (tests move it).
	Now func() time.Time
	// Jobs runs jobs on demand (POST /api/v1/jobs/{name}/run); nil answers 503.
	Jobs JobRunner
	// StatsCacheTTL is the longest a cached dashboard answer is served (see
	// stats_cache.go): 0 means DefaultStatsCacheTTL, below 0 no cache.
	StatsCacheTTL time.Duration
	// RevocationPoll is how often the instance re-reads revoked tokens (see
	// revocations.go): 0 means DefaultRevocationPoll.
	RevocationPoll time.Duration

	revOnce sync.Once
	rev     *revocations

	cacheOnce sync.Once
	answers   apiCaches
}

// apiCaches are the answer caches of the HTTP edge (the table in
// models/cache.go): the parents' offering lists and the dashboards.
type apiCaches struct {
	lists *offeringListCache
	stats *statsAnswerCache
}

// caches returns h's answer caches, made on first use.
func (h *API) caches() *apiCaches {
	h.cacheOnce.Do(func() {
		h.answers = apiCaches{lists: newOfferingListCache(), stats: newStatsAnswerCache()}
	})
	return &h.answers
}

func (h *API) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

const actorKey = "kehou.actor"

// CurrentActor returns the caller set by RequireAuth.
func CurrentActor(c *fiber.Ctx) models.Actor {
	a, _ := c.Locals(actorKey).(models.Actor)
	return a
}

// RequestID returns the request's id.
func RequestID(c *fiber.Ctx) string {
	if id, ok := c.Locals("requestid").(string); ok {
		return id
	}
	return ""
}

// routePath is the matched route template ("/api/v1/schools/:id"), which
// keeps metrics and logs free of ids and query strings.
func routePath(c *fiber.Ctx) string {
	if r := c.Route(); r != nil && r.Path != "" && r.Path != "/" {
		return r.Path
	}
	return "unmatched"
}

// decodeJSON reads the body into dst (a DTO, never a GORM model). Bad JSON is
// a 400; a wrong type is a 422 naming the field (see ErrorHandler).
func decodeJSON(c *fiber.Ctx, dst any) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return BadRequest("empty_body", "请求体不能为空")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		var ute *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &ute), errors.As(err, &se):
			return err
		}
		return BadRequest("bad_json", "JSON 格式错误")
	}
	if dec.More() {
		return BadRequest("bad_json", "JSON 格式错误：多余的内容")
	}
	return nil
}

// idParam parses a positive integer path parameter.
func idParam(c *fiber.Ctx, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, BadRequest("bad_param", "路径参数 "+name+" 须为正整数")
	}
	return id, nil
}

// queryID parses an optional positive integer query parameter (0 if absent).
func queryID(c *fiber.Ctx, name string) (int64, error) {
	s := c.Query(name)
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, BadRequest("bad_param", "查询参数 "+name+" 须为正整数")
	}
	return id, nil
}

// parseTime parses an RFC 3339 time field (spaces around it ignored),
// recording a 422 message for field in v when it is not one.
func parseTime(v *models.Validator, field, s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	v.Check(err == nil, field, "须为 RFC 3339 时间，如 2026-09-01T08:00:00+08:00")
	return t, err == nil
}

// Page is a page of a cursor-paged list.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// bearer extracts the token of an "Authorization: Bearer" header.
func bearer(c *fiber.Ctx) string {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// RequireAuth admits requests with a valid access token and stores the actor.
func (h *API) RequireAuth(c *fiber.Ctx) error {
	tok := bearer(c)
	if tok == "" {
		return models.ErrUnauthorized
	}
	a, err := h.Tokens.Verify(tok)
	if err != nil {
		return err
	}
	if !h.revoked().current(c.UserContext(), a, h.now()) {
		return models.ErrTokenRevoked
	}
	c.Locals(actorKey, a)
	return c.Next()
}

// RequireRoles admits only the given roles (403 otherwise); use after RequireAuth.
func RequireRoles(roles ...models.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		r := CurrentActor(c).Role
		for _, want := range roles {
			if r == want {
				return c.Next()
			}
		}
		return models.ErrForbidden
	}
}

// Staff is every staff role.
var Staff = []models.Role{models.RoleTeacher, models.RoleSchoolAdmin, models.RoleBureauAdmin, models.RolePlatformAdmin}

// Deadline gives each request's UserContext a deadline d after it starts
// (none when d ≤ 0), so the operations it calls stop when the answer could
// no longer be useful. A request that runs out answers 503 timeout.
func Deadline(d time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if d <= 0 {
			return c.Next()
		}
		ctx, cancel := context.WithTimeout(c.UserContext(), d)
		defer cancel()
		c.SetUserContext(ctx)
		return c.Next()
	}
}
