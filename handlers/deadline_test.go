package handlers

import (
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// TestDeadline: a request's UserContext carries the deadline, and work that
// runs past it answers 503 timeout.
func TestDeadline(t *testing.T) {
	app := fiber.New(fiber.Config{ErrorHandler: ErrorHandler(slog.New(slog.DiscardHandler))})
	app.Get("/has", Deadline(time.Minute), func(c *fiber.Ctx) error {
		if _, ok := c.UserContext().Deadline(); !ok {
			t.Error("no deadline on the request's context")
		}
		return c.SendStatus(204)
	})
	app.Get("/late", Deadline(time.Nanosecond), func(c *fiber.Ctx) error {
		<-c.UserContext().Done()
		return c.UserContext().Err()
	})
	for path, want := range map[string]int{"/has": 204, "/late": 503} {
		res, err := app.Test(httptest.NewRequest("GET", path, nil))
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, res.StatusCode, want)
		}
	}
}
