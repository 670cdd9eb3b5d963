package handlers

import (
	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// RateWindow limits requests to limit per minute per key (e.g. the client
// address), counted in the database (models.HitRateWindow) so the limit
// holds across instances; past it the answer is 429 rate_limited with
// Retry-After. name keeps the buckets of different limits apart.
func (h *API) RateWindow(name string, limit int, key func(*fiber.Ctx) string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := models.HitRateWindow(c.UserContext(), h.DB, name+":"+key(c), limit, h.now()); err != nil {
			return err
		}
		return c.Next()
	}
}
