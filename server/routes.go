package main

import (
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/limiter"
	"github.com/gofiber/fiber/v2/middleware/recover"
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
	// An anonymous request's body is bounded before it is read (see
	// UnauthenticatedBodyLimit); the app's BodyLimit is for uploads.
	app.Server().HeaderReceived = h.Tokens.UnauthenticatedBodyLimit(handlers.JSONBodyLimit)
	m := handlers.NewMetrics(reg)
	// The client address of logs and rate limits (see clientIPFunc: not
	// the spoofable leftmost X-Forwarded-For entry).
	clientIP := clientIPFunc(cfg.TrustedProxies)
	app.Use(handlers.RequestContext(clientIP))
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

	// Every API request's context ends at its deadline, so the work it
	// started (queries, the wait for the enrollment writer) stops with it.
	// Transfer: ETags (304 on If-None-Match) on every GET, gzip for JSON
	// answers of a few KB (handlers/transfer.go).
	v1 := app.Group("/api/v1", handlers.Deadline(cfg.RequestTimeout), handlers.Transfer)
	auth := h.RequireAuth
	small := handlers.MaxBody(handlers.JSONBodyLimit)
	staff := handlers.RequireRoles(handlers.Staff...)
	admins := handlers.RequireRoles(models.RolePlatformAdmin, models.RoleBureauAdmin, models.RoleSchoolAdmin)

	// Authentication. Password logins: a generous limit per client address
	// (LOGIN_RATE_LIMIT a minute), counted in the database so it holds
	// across instances, and a growing lock after failures per username and
	// address, and per username when they spread over many addresses
	// (models.Authenticate). WeChat logins have no per-address limit: a
	// wx.login code is single-use and checked by WeChat, so guessing is
	// pointless, and the families behind one carrier NAT share an address
	// (SPEC "Trust rules": never refused for its address alone).
	// An IPv6 client is counted as its /64 (models.LoginAddressKey).
	loginLimit := h.RateWindow("login", cfg.LoginRateLimit, func(c *fiber.Ctx) string { return models.LoginAddressKey(clientIP(c)) })
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
	v1.Post("/auth/logout", refreshLimit, small, h.Logout)
	v1.Post("/auth/password", refreshLimit, small, h.SetPassword)
	v1.Get("/me", auth, h.Me)

	// Tenancy: regions, schools, users, students.
	v1.Post("/regions", auth, handlers.RequireRoles(models.RolePlatformAdmin), small, h.CreateRegion)
	v1.Post("/schools", auth, handlers.RequireRoles(models.RolePlatformAdmin, models.RoleBureauAdmin), small, h.CreateSchool)
	v1.Get("/schools/:id", auth, staff, h.GetSchool)
	v1.Post("/users", auth, admins, small, h.CreateUser)
	v1.Patch("/users/:id", auth, admins, small, h.PatchUser)
	v1.Get("/schools/:id/staff", auth, handlers.RequireRoles(models.RoleSchoolAdmin, models.RolePlatformAdmin), h.ListSchoolStaff)
	// Bureau admins see schools and statistics, not children's records.
	schoolStaff := handlers.RequireRoles(models.RoleTeacher, models.RoleSchoolAdmin, models.RolePlatformAdmin)
	v1.Get("/schools/:id/students", auth, schoolStaff, h.ListStudents)

	// Roster import: CSV or XLSX up to the app's body limit (413 beyond).
	v1.Post("/schools/:id/roster", auth, handlers.RequireRoles(models.RoleSchoolAdmin, models.RolePlatformAdmin), h.ImportRoster)

	// Attendance: the term calendar, sessions, roll call, leave, dismissal
	// (docs/attendance.md). Who may read or mark one session is decided in
	// models (CanTakeRoll); the role lists here only keep others out early.
	rollAdmins := handlers.RequireRoles(models.RoleSchoolAdmin, models.RolePlatformAdmin)
	rollStaff := handlers.RequireRoles(models.RoleSchoolAdmin, models.RoleTeacher, models.RolePlatformAdmin)
	teachers := handlers.RequireRoles(models.RoleTeacher, models.RoleSchoolAdmin)
	guardians := handlers.RequireRoles(models.RoleParent)
	leaveReaders := handlers.RequireRoles(models.RoleParent, models.RoleSchoolAdmin, models.RoleTeacher, models.RolePlatformAdmin)
	v1.Put("/schools/:id/terms/:term_id/calendar", auth, rollAdmins, small, h.SetTermCalendar)
	v1.Get("/offerings/:id/sessions", auth, h.ListOfferingSessions)
	v1.Get("/offerings/:id/attendance", auth, rollStaff, h.AttendanceSheet)
	v1.Get("/me/sessions", auth, teachers, h.MySessions)
	v1.Post("/sessions/:id/cancel", auth, rollAdmins, small, h.CancelSession)
	v1.Get("/sessions/:id/roll", auth, rollStaff, h.Roll)
	v1.Put("/sessions/:id/attendance", auth, rollStaff, small, h.MarkAttendance)
	v1.Get("/sessions/:id/attendance/changes", auth, rollStaff, h.AttendanceChanges)
	v1.Post("/sessions/:id/dismissal", auth, rollStaff, small, h.RecordDismissal)
	v1.Get("/sessions/:id/dismissal/changes", auth, rollStaff, h.DismissalChanges)
	v1.Post("/students/:id/leave-requests", auth, guardians, small, h.CreateLeaveRequest)
	v1.Get("/students/:id/leave-requests", auth, leaveReaders, h.ListLeaveRequests)
	v1.Delete("/leave-requests/:id", auth, guardians, h.CancelLeaveRequest)

	// Parents (WeChat).
	parent := handlers.RequireRoles(models.RoleParent)
	v1.Post("/auth/wechat", small, h.WeChatLogin)
	v1.Post("/me/phone", auth, parent, small, h.BindPhone)
	v1.Post("/me/children", auth, parent, small, h.BindChild)
	v1.Get("/wechat/templates", auth, parent, h.WeChatTemplates)
	v1.Post("/me/subscriptions", auth, parent, small, h.RecordSubscriptions)
	v1.Get("/me/notifications", auth, parent, h.MyNotifications)
	v1.Post("/students/:id/binding-codes", auth, handlers.RequireRoles(models.RoleSchoolAdmin), small, h.IssueBindingCode)

	// Guardian links: removal by the school or the guardian, and deletion
	// of a child's data on a guardian's request (guardian_links.go).
	linkAdmins := handlers.RequireRoles(models.RoleSchoolAdmin, models.RolePlatformAdmin)
	v1.Get("/students/:id/guardian-links", auth, linkAdmins, h.ListGuardianLinks)
	v1.Delete("/students/:id/guardian-links/:user_id", auth, linkAdmins, h.RemoveGuardianLink)
	v1.Delete("/me/children/:student_id", auth, parent, h.UnlinkChild)
	v1.Post("/me/children/:student_id/deletion-request", auth, parent, small, h.RequestDeletion)
	v1.Get("/schools/:id/deletion-requests", auth, linkAdmins, h.ListDeletionRequests)
	v1.Post("/deletion-requests/:id/confirm", auth, linkAdmins, h.ConfirmDeletion)

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
	v1.Post("/offerings/:id/reopen", auth, offeringAdmins, h.ReopenOffering)
	v1.Get("/offerings/:id/roster", auth, offeringStaff, h.OfferingRoster)
	v1.Post("/enrollments", auth, enrollers, small, h.Enroll)
	v1.Delete("/enrollments/:id", auth, enrollers, h.Withdraw)
	v1.Get("/students/:id/enrollments", auth, enrollers, h.ListStudentEnrollments)

	// Editing schools and terms: a bureau admin renames or closes a school;
	// a school admin edits a term before it starts and deletes an unused one.
	v1.Patch("/schools/:id", auth, handlers.RequireRoles(models.RolePlatformAdmin, models.RoleBureauAdmin), small, h.PatchSchool)
	v1.Patch("/schools/:id/terms/:term_id", auth, offeringAdmins, small, h.PatchTerm)
	v1.Delete("/schools/:id/terms/:term_id", auth, offeringAdmins, h.DeleteTerm)

	// Surveys, statistics, jobs.
	bureauOrSchoolAdmins := handlers.RequireRoles(models.RoleBureauAdmin, models.RoleSchoolAdmin)
	platform := handlers.RequireRoles(models.RolePlatformAdmin)
	v1.Post("/surveys", auth, bureauOrSchoolAdmins, small, h.CreateSurvey)
	v1.Get("/surveys", auth, h.ListSurveys)
	v1.Post("/surveys/:id/responses", auth, handlers.RequireRoles(models.RoleParent), small, h.RespondSurvey)
	v1.Get("/stats/overview", auth, bureauOrSchoolAdmins, h.StatsOverview)
	v1.Get("/stats/schools", auth, handlers.RequireRoles(models.RoleBureauAdmin), h.StatsSchools)
	v1.Get("/stats/trend", auth, bureauOrSchoolAdmins, h.StatsTrend)
	v1.Get("/stats/breakdown", auth, bureauOrSchoolAdmins, h.StatsBreakdown)
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
