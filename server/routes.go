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
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kehou_storage_full",
		Help: "1 while the database refuses writes for want of space (SQLITE_FULL, PostgreSQL 53100), else 0.",
	}, func() float64 {
		if h.DB != nil && h.DB.StorageFull() {
			return 1
		}
		return 0
	}), prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "kehou_storage_full_writes_total",
		Help: "Write transactions the database refused for want of space.",
	}, func() float64 {
		if h.DB == nil {
			return 0
		}
		return float64(h.DB.StorageFullWrites())
	}))
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
	v1.Post("/regions", auth, platformAdmins.only(), small, h.CreateRegion)
	v1.Post("/schools", auth, platformOrBureauAdmins.only(), small, h.CreateSchool)
	v1.Get("/schools/:id", auth, allStaff.only(), h.GetSchool)
	v1.Post("/users", auth, anyAdmins.only(), small, h.CreateUser)
	v1.Patch("/users/:id", auth, anyAdmins.only(), small, h.PatchUser)
	v1.Get("/schools/:id/staff", auth, schoolAdmins.only(), h.ListSchoolStaff)
	// Bureau admins see schools and statistics, not children's records.
	v1.Get("/schools/:id/students", auth, schoolStaff.only(), h.ListStudents)

	// Roster import: CSV or XLSX up to the app's body limit (413 beyond).
	v1.Post("/schools/:id/roster", auth, schoolAdmins.only(), h.ImportRoster)

	// Attendance: the term calendar, sessions, roll call, leave, dismissal
	// (docs/attendance.md). Who may read or mark one session is decided in
	// models (CanTakeRoll); the role lists here only keep others out early.
	v1.Put("/schools/:id/terms/:term_id/calendar", auth, schoolAdmins.only(), small, h.SetTermCalendar)
	v1.Get("/offerings/:id/sessions", auth, h.ListOfferingSessions)
	v1.Get("/offerings/:id/attendance", auth, schoolStaff.only(), h.AttendanceSheet)
	v1.Get("/me/sessions", auth, teachers.only(), h.MySessions)
	v1.Post("/sessions/:id/cancel", auth, schoolAdmins.only(), small, h.CancelSession)
	v1.Get("/sessions/:id/roll", auth, schoolStaff.only(), h.Roll)
	v1.Put("/sessions/:id/attendance", auth, schoolStaff.only(), small, h.MarkAttendance)
	v1.Get("/sessions/:id/attendance/changes", auth, schoolStaff.only(), h.AttendanceChanges)
	v1.Post("/sessions/:id/dismissal", auth, schoolStaff.only(), small, h.RecordDismissal)
	v1.Get("/sessions/:id/dismissal/changes", auth, schoolStaff.only(), h.DismissalChanges)
	v1.Post("/students/:id/leave-requests", auth, parents.only(), small, h.CreateLeaveRequest)
	v1.Get("/students/:id/leave-requests", auth, schoolFamilies.only(), h.ListLeaveRequests)
	v1.Get("/schools/:id/leave-requests", auth, schoolAdmins.only(), h.ListSchoolLeaves)
	v1.Delete("/leave-requests/:id", auth, parents.only(), h.CancelLeaveRequest)
	v1.Get("/students/:id/attendance", auth, schoolFamilies.only(), h.StudentAttendance)

	// Parents (WeChat).
	v1.Post("/auth/wechat", small, h.WeChatLogin)
	v1.Post("/me/phone", auth, parents.only(), small, h.BindPhone)
	v1.Post("/me/children", auth, parents.only(), small, h.BindChild)
	v1.Get("/wechat/templates", auth, parents.only(), h.WeChatTemplates)
	v1.Post("/me/subscriptions", auth, parents.only(), small, h.RecordSubscriptions)
	v1.Get("/me/notifications", auth, parents.only(), h.MyNotifications)
	v1.Post("/students/:id/binding-codes", auth, schoolAdminsOnly.only(), small, h.IssueBindingCode)

	// Guardian links: removal by the school or the guardian, and deletion
	// of a child's data on a guardian's request (handlers/guardian_links.go).
	v1.Get("/students/:id/guardian-links", auth, schoolAdmins.only(), h.ListGuardianLinks)
	v1.Delete("/students/:id/guardian-links/:user_id", auth, schoolAdmins.only(), h.RemoveGuardianLink)
	v1.Delete("/me/children/:student_id", auth, parents.only(), h.UnlinkChild)
	v1.Post("/me/children/:student_id/deletion-request", auth, parents.only(), small, h.RequestDeletion)
	v1.Get("/schools/:id/deletion-requests", auth, schoolAdmins.only(), h.ListDeletionRequests)
	v1.Post("/deletion-requests/:id/confirm", auth, schoolAdmins.only(), h.ConfirmDeletion)

	// Terms, offerings, enrollment.
	v1.Post("/schools/:id/terms", auth, schoolAdmins.only(), small, h.CreateTerm)
	v1.Get("/schools/:id/terms", auth, h.ListTerms)
	v1.Post("/schools/:id/terms/:term_id/lottery", auth, schoolAdmins.only(), small, h.RunLottery)
	v1.Post("/schools/:id/offerings", auth, schoolAdmins.only(), small, h.CreateOffering)
	v1.Get("/schools/:id/offerings", auth, h.ListOfferings)
	v1.Get("/offerings/:id", auth, h.GetOffering)
	v1.Patch("/offerings/:id", auth, schoolAdmins.only(), small, h.PatchOffering)
	v1.Post("/offerings/:id/publish", auth, schoolAdmins.only(), h.PublishOffering)
	v1.Post("/offerings/:id/close", auth, schoolAdmins.only(), h.CloseOffering)
	v1.Post("/offerings/:id/cancel", auth, schoolAdmins.only(), h.CancelOffering)
	v1.Post("/offerings/:id/reopen", auth, schoolAdmins.only(), h.ReopenOffering)
	v1.Get("/offerings/:id/roster", auth, schoolStaff.only(), h.OfferingRoster)
	v1.Post("/enrollments", auth, schoolFamilies.only(), small, h.Enroll)
	v1.Delete("/enrollments/:id", auth, schoolFamilies.only(), h.Withdraw)
	v1.Get("/students/:id/enrollments", auth, schoolFamilies.only(), h.ListStudentEnrollments)

	// Editing schools and terms: a bureau admin renames or closes a school;
	// a school admin edits a term before it starts and deletes an unused one.
	v1.Patch("/schools/:id", auth, platformOrBureauAdmins.only(), small, h.PatchSchool)
	v1.Patch("/schools/:id/terms/:term_id", auth, schoolAdmins.only(), small, h.PatchTerm)
	v1.Delete("/schools/:id/terms/:term_id", auth, schoolAdmins.only(), h.DeleteTerm)

	// Fees: policies, the public fee list, waivers, orders and their money
	// (docs/fees.md).
	v1.Put("/regions/:id/fee-policy", auth, platformOrBureauAdmins.only(), small, h.PutFeePolicy)
	v1.Get("/regions/:id/fee-policy", auth, allStaff.only(), h.GetFeePolicy)
	v1.Get("/schools/:id/fees", auth, h.SchoolFees)
	v1.Patch("/students/:id", auth, schoolAdmins.only(), small, h.PatchStudent)
	v1.Get("/schools/:id/orders", auth, schoolStaff.only(), h.ListSchoolOrders)
	v1.Get("/orders/:id", auth, schoolFamilies.only(), h.GetOrder)
	v1.Post("/orders/:id/payments", auth, schoolAdmins.only(), small, h.RecordPayment)
	v1.Post("/orders/:id/refunds", auth, schoolAdmins.only(), small, h.RefundOrder)
	v1.Get("/stats/finance", auth, bureauOrSchoolAdmins.only(), h.StatsFinance)
	// WeChat Pay (docs/wechatpay.md): the guardian pays; WeChat Pay notifies
	// (no token: the notification's signature is what is checked).
	v1.Post("/orders/:id/wechat-pay", auth, parents.only(), h.WeChatPay)
	v1.Post("/pay/wechat/notify", small, h.WeChatPayNotify)
	v1.Get("/pay/reconciliation", auth, anyAdmins.only(), h.ListReconcileDiffs)

	// Surveys, statistics, jobs.
	v1.Post("/surveys", auth, bureauOrSchoolAdmins.only(), small, h.CreateSurvey)
	v1.Get("/surveys", auth, h.ListSurveys)
	v1.Post("/surveys/:id/responses", auth, parents.only(), small, h.RespondSurvey)
	v1.Get("/stats/overview", auth, bureauOrSchoolAdmins.only(), h.StatsOverview)
	v1.Get("/stats/schools", auth, bureauAdmins.only(), h.StatsSchools)
	v1.Get("/stats/trend", auth, bureauOrSchoolAdmins.only(), h.StatsTrend)
	v1.Get("/stats/breakdown", auth, bureauOrSchoolAdmins.only(), h.StatsBreakdown)
	v1.Get("/jobs/runs", auth, platformAdmins.only(), h.ListJobRuns)
	v1.Post("/jobs/:name/run", auth, platformAdmins.only(), h.RunJob)

	// The staff console: static assets embedded in the binary (see
	// docs/console.md), and the region tree its bureau pages draw.
	v1.Get("/regions", auth, platformOrBureauAdmins.only(), h.ListRegions)
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

// roleSet is a set of roles a route admits; only() keeps the others out
// (403) before the handler runs. Which object of its tenant a caller may
// touch is decided in models; a role set only turns the others away early.
type roleSet []models.Role

func (s roleSet) only() fiber.Handler { return handlers.RequireRoles(s...) }

// The role sets of the routes, each named once for who it admits (no two
// names for one set: TestRoleSetsNamedOnce).
var (
	allStaff               = roleSet(handlers.Staff)
	anyAdmins              = roleSet{models.RolePlatformAdmin, models.RoleBureauAdmin, models.RoleSchoolAdmin}
	platformAdmins         = roleSet{models.RolePlatformAdmin}
	platformOrBureauAdmins = roleSet{models.RolePlatformAdmin, models.RoleBureauAdmin}
	bureauAdmins           = roleSet{models.RoleBureauAdmin}
	bureauOrSchoolAdmins   = roleSet{models.RoleBureauAdmin, models.RoleSchoolAdmin}
	schoolAdmins           = roleSet{models.RoleSchoolAdmin, models.RolePlatformAdmin}
	schoolAdminsOnly       = roleSet{models.RoleSchoolAdmin}
	schoolStaff            = roleSet{models.RoleSchoolAdmin, models.RoleTeacher, models.RolePlatformAdmin}
	teachers               = roleSet{models.RoleTeacher, models.RoleSchoolAdmin}
	parents                = roleSet{models.RoleParent}
	schoolFamilies         = roleSet{models.RoleParent, models.RoleSchoolAdmin, models.RoleTeacher, models.RolePlatformAdmin}
)

func proxyHeader(cfg Config) string {
	if len(cfg.TrustedProxies) == 0 {
		return ""
	}
	return fiber.HeaderXForwardedFor
}
