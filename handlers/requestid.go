package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"kehou/models"
)

// maxRequestIDLen bounds a client-supplied X-Request-ID: long enough for a
// UUID or a trace id with a prefix, short enough to keep log lines small.
const maxRequestIDLen = 64

// validRequestID reports whether a client-supplied request id may be kept:
// 1–64 characters of [A-Za-z0-9._:-]. Anything else (control characters,
// quotes, spaces, a megabyte of text) could forge or bloat log lines, so it
// is replaced by a generated id.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.' || b == ':') {
			return false
		}
	}
	return true
}

// clientAddrKey is the local holding the client address (ClientAddr).
const clientAddrKey = "kehou.client_addr"

// ClientAddr returns the client address RequestContext found.
func ClientAddr(c *fiber.Ctx) string {
	s, _ := c.Locals(clientAddrKey).(string)
	return s
}

// RequestContext names every request: its id is the client's X-Request-ID
// when that is a valid one (so a trace crosses the load balancer), else a
// new UUID; it is echoed in the X-Request-ID answer header, kept in the
// "requestid" local (RequestID reads it) and named in every error body and
// log line. The client address is clientIP's (the one rate limits use).
// Both go into the request's context for models (models.RequestInfo: the
// staff access log).
func RequestContext(clientIP func(*fiber.Ctx) string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		rid := assignRequestID(c)
		addr := clientIP(c)
		c.Locals(clientAddrKey, addr)
		c.SetUserContext(models.WithRequestInfo(c.UserContext(), models.RequestInfo{ID: rid, ClientAddr: addr}))
		return c.Next()
	}
}

// assignRequestID gives c its request id (see RequestIDs) and returns it.
// The error handler calls it too, for requests fasthttp refuses before any
// middleware runs (a body over its limit).
func assignRequestID(c *fiber.Ctx) string {
	rid := c.Get(fiber.HeaderXRequestID)
	if validRequestID(rid) {
		// The header's string aliases the connection's buffer.
		rid = strings.Clone(rid)
	} else {
		rid = utils.UUIDv4()
	}
	c.Set(fiber.HeaderXRequestID, rid)
	c.Locals("requestid", rid)
	return rid
}
