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
