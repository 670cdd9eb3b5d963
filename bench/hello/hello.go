// Package hello is the B_http baseline of the load program: a plain Fiber
// app answering GET /hello with a small JSON object. It has no middleware,
// so it measures what Fiber and the kernel cost on the machine. The load
// program serves it in a child process (`kehou-bench hello`); the handler
// benchmarks of ./server run it without the network.
package hello

import "github.com/gofiber/fiber/v2"

// App is the hello server's app.
func App() *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/hello", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"hello": "world", "ok": true})
	})
	return app
}
