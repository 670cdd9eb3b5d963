package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// Ready is GET /readyz: 200 when the database answers, else 503.
func (h *API) Ready(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := h.DB.Ping(ctx); err != nil {
		return models.ErrUnavailable.WithMessage("数据库不可用")
	}
	return c.JSON(fiber.Map{"status": "ready"})
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
