package main

import (
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/limiter"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"kehou"
	"kehou/console"
	"kehou/handlers"
	"kehou/models"
)

// newApp builds the Fiber app with every route and middleware of kehou, in
// one place.
func newApp(cfg Config, log *slog.Logger, h *handlers.API, reg *prometheus.Registry) *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:                 "kehou",
		ErrorHandler:            handlers.ErrorHandler(log),
		BodyLimit:               cfg.BodyLimit,
		ReadTimeout:             cfg.ReadTimeout,
		WriteTimeout:            cfg.WriteTimeout,
		IdleTimeout:             2 * time.Minute,
		DisableStartupMessage:   true,
		EnableTrustedProxyCheck: len(cfg.TrustedProxies) > 0,
		TrustedProxies:          cfg.TrustedProxies,
		ProxyHeader:             proxyHeader(cfg),
		EnableIPValidation:      true,
	})
	m := handlers.NewMetrics(reg)
	// The client address of logs and rate limits (see clientIPFunc: not
	// the spoofable leftmost X-Forwarded-For entry).
	clientIP := clientIPFunc(cfg.TrustedProxies)
	app.Use(requestid.New(requestid.Config{ContextKey: "requestid"}))
	app.Use(handlers.Observe(log, m, clientIP))
	app.Use(recover.New())

	// Operations.
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	app.Get("/readyz", h.Ready)
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	app.Get("/openapi.yaml", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, "application/yaml; charset=utf-8")
		return c.Send(kehou.OpenAPI)
	})

	v1 := app.Group("/api/v1")
	auth := h.RequireAuth
	small := handlers.MaxBody(64 << 10)
	staff := handlers.RequireRoles(handlers.Staff...)
	admins := handlers.RequireRoles(models.RolePlatformAdmin, models.RoleBureauAdmin, models.RoleSchoolAdmin)

	// Authentication: rate-limited per client address.
	loginLimit := limiter.New(limiter.Config{
		Max: cfg.LoginRateLimit, Expiration: time.Minute,
		KeyGenerator: clientIP,
		LimitReached: func(c *fiber.Ctx) error { return models.ErrRateLimited },
	})
	// Refresh has a limiter of its own: a refresh token is 32 random bytes,
	// so the limit only caps abuse, and it must not share a budget with
	// password guesses (many families share one address behind carrier NAT).
	refreshLimit := limiter.New(limiter.Config{
		Max: 300, Expiration: time.Minute,
		KeyGenerator: clientIP,
		LimitReached: func(c *fiber.Ctx) error { return models.ErrRateLimited },
	})
	v1.Post("/auth/login", loginLimit, small, h.Login)
	v1.Post("/auth/refresh", refreshLimit, small, h.Refresh)
	v1.Get("/me", auth, h.Me)

	// Tenancy: regions, schools, users, students.
	v1.Post("/regions", auth, handlers.RequireRoles(models.RolePlatformAdmin), small, h.CreateRegion)
	v1.Post("/schools", auth, handlers.RequireRoles(models.RolePlatformAdmin, models.RoleBureauAdmin), small, h.CreateSchool)
	v1.Get("/schools/:id", auth, staff, h.GetSchool)
	v1.Post("/users", auth, admins, small, h.CreateUser)
	// Bureau admins see schools and statistics, not children's records.
	schoolStaff := handlers.RequireRoles(models.RoleTeacher, models.RoleSchoolAdmin, models.RolePlatformAdmin)
	v1.Get("/schools/:id/students", auth, schoolStaff, h.ListStudents)

	// Roster import: CSV or XLSX up to the app's body limit (413 beyond).
	v1.Post("/schools/:id/roster", auth, handlers.RequireRoles(models.RoleSchoolAdmin, models.RolePlatformAdmin), h.ImportRoster)

	// Parents (WeChat).
	parent := handlers.RequireRoles(models.RoleParent)
	v1.Post("/auth/wechat", loginLimit, small, h.WeChatLogin)
	v1.Post("/me/phone", auth, parent, small, h.BindPhone)
	v1.Post("/me/children", auth, parent, small, h.BindChild)
	v1.Post("/students/:id/binding-codes", auth, handlers.RequireRoles(models.RoleSchoolAdmin), small, h.IssueBindingCode)

	// Terms, offerings, enrollment.
	offeringAdmins := handlers.RequireRoles(models.RoleSchoolAdmin, models.RolePlatformAdmin)
	offeringStaff := handlers.RequireRoles(models.RoleSchoolAdmin, models.RoleTeacher, models.RolePlatformAdmin)
	enrollers := handlers.RequireRoles(models.RoleParent, models.RoleSchoolAdmin, models.RoleTeacher, models.RolePlatformAdmin)
	v1.Post("/schools/:id/terms", auth, offeringAdmins, small, h.CreateTerm)
	v1.Get("/schools/:id/terms", auth, h.ListTerms)
	v1.Post("/schools/:id/terms/:term_id/lottery", auth, offeringAdmins, small, h.RunLottery)
	v1.Post("/schools/:id/offerings", auth, offeringAdmins, small, h.CreateOffering)
	v1.Get("/schools/:id/offerings", auth, h.ListOfferings)
	v1.Get("/offerings/:id", auth, h.GetOffering)
	v1.Patch("/offerings/:id", auth, offeringAdmins, small, h.PatchOffering)
	v1.Post("/offerings/:id/publish", auth, offeringAdmins, h.PublishOffering)
	v1.Post("/offerings/:id/close", auth, offeringAdmins, h.CloseOffering)
	v1.Post("/offerings/:id/cancel", auth, offeringAdmins, h.CancelOffering)
	v1.Get("/offerings/:id/roster", auth, offeringStaff, h.OfferingRoster)
	v1.Post("/enrollments", auth, enrollers, small, h.Enroll)
	v1.Delete("/enrollments/:id", auth, enrollers, h.Withdraw)
	v1.Get("/students/:id/enrollments", auth, enrollers, h.ListStudentEnrollments)

	// Surveys, statistics, jobs.
	admins2 := handlers.RequireRoles(models.RoleBureauAdmin, models.RoleSchoolAdmin)
	platform := handlers.RequireRoles(models.RolePlatformAdmin)
	v1.Post("/surveys", auth, admins2, small, h.CreateSurvey)
	v1.Get("/surveys", auth, h.ListSurveys)
	v1.Post("/surveys/:id/responses", auth, handlers.RequireRoles(models.RoleParent), small, h.RespondSurvey)
	v1.Get("/stats/overview", auth, admins2, h.StatsOverview)
	v1.Get("/stats/schools", auth, handlers.RequireRoles(models.RoleBureauAdmin), h.StatsSchools)
	v1.Get("/stats/trend", auth, admins2, h.StatsTrend)
	v1.Get("/stats/breakdown", auth, admins2, h.StatsBreakdown)
	v1.Get("/jobs/runs", auth, platform, h.ListJobRuns)
	v1.Post("/jobs/:name/run", auth, platform, h.RunJob)

	// The staff console: static assets embedded in the binary (see
	// docs/console.md), and the region tree its bureau pages draw.
	v1.Get("/regions", auth, handlers.RequireRoles(models.RoleBureauAdmin, models.RolePlatformAdmin), h.ListRegions)
	assets, err := console.Load()
	if err != nil {
		panic(err) // the embedded tree is part of the binary: a bug, not a condition
	}
	k := handlers.Console{Assets: assets}
	app.Get("/", k.Index)
	app.Get("/static/:version/:file", k.Static)
	app.Get("/static/:version/:dir/:file", k.Static)

	return app
}

func proxyHeader(cfg Config) string {
	if len(cfg.TrustedProxies) == 0 {
		return ""
	}
	return fiber.HeaderXForwardedFor
}
