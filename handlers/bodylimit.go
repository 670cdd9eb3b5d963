package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// JSONBodyLimit is the largest JSON body kehou reads: every JSON request of
// the API fits in it many times over.
const JSONBodyLimit = 64 << 10

// UnauthenticatedBodyLimit is fasthttp's HeaderReceived hook that bounds
// what an anonymous client can make the server read. fasthttp reads the
// whole body (up to the server's MaxRequestBodySize, the app's 10 MB upload
// limit) before any Fiber handler or middleware runs, so a middleware that
// checks len(c.Body()) only refuses a body already in memory, and Fiber
// has one MaxRequestBodySize for every route. HeaderReceived runs after the
// header and before the body: a request without a valid access token gets
// limit as its MaxRequestBodySize, so a Content-Length above it is refused
// with 413 before a byte of the body is read, and a chunked body is cut off
// at limit. Requests with a valid token keep the app limit (uploads need
// it); JSON routes check theirs with MaxBody. The token check is the
// verified-token cache's, so a client that logs in and sends its token
// pays for it once.
func (t *Tokens) UnauthenticatedBodyLimit(limit int) func(*fasthttp.RequestHeader) fasthttp.RequestConfig {
	return func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		v := h.Peek(fasthttp.HeaderAuthorization)
		if len(v) > 7 && strings.EqualFold(string(v[:7]), "bearer ") {
			if _, err := t.Verify(strings.TrimSpace(string(v[7:]))); err == nil {
				return fasthttp.RequestConfig{}
			}
		}
		return fasthttp.RequestConfig{MaxRequestBodySize: limit}
	}
}

// MaxBody answers 413 to a request body over n bytes (the app-wide limit is
// larger, for roster files).
func MaxBody(n int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if len(c.Body()) > n {
			return fiber.ErrRequestEntityTooLarge
		}
		return c.Next()
	}
}
