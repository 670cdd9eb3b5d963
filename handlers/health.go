package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// Ready is GET /readyz: 200 when the database answers and accepts writes;
// 503 `unavailable` when it does not answer, 503 `storage_full` while it
// refuses writes for want of space (models.DB.CheckStorage), so a load
// balancer routes away.
func (h *API) Ready(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := h.DB.Ping(ctx); err != nil {
		return models.ErrUnavailable.WithMessage("数据库不可用")
	}
	if err := h.DB.CheckStorage(ctx); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"status": "ready"})
}
