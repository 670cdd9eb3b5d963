package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"kehou/handlers"
	"kehou/jobs"
	"kehou/models"
	"kehou/wechat/pay"
)

// serve runs the HTTP server until ctx ends (SIGTERM/SIGINT), then lets
// in-flight requests finish, stops background work, and closes the database.
func serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	if cfg.SecretGenerated {
		log.Warn("JWT_SECRET not set: generated a random one for this dev process; tokens will not survive a restart")
	}
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := refuseSeeded(ctx, cfg, db); err != nil {
		return err
	}

	if err := db.Warm(ctx); err != nil {
		log.Warn("could not open every database connection ahead", "err", err)
	}
	queue := cfg.EnrollQueueLimit
	if queue < 0 {
		queue = db.EnrollQueueDefault()
	}
	db.StartEnrollments(queue)
	// WeChat Pay's notifications get a bound of the same size
	// (ENROLL_QUEUE_LIMIT, 0 none): neither a burst of them nor the rush
	// takes the writer from the other.
	db.LimitNotifyQueue(queue)
	db.MaxChildrenPerGuardian = cfg.MaxChildrenPerGuardian
	db.Log = log
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	stopPprof, err := startPprof(cfg, log)
	if err != nil {
		return err
	}
	defer stopPprof()
	pc, err := newPayClient(ctx, cfg)
	if err != nil {
		return err
	}
	var payFake *pay.Fake
	if cfg.Pay.Fake {
		if payFake, pc, err = fakePay(ctx, cfg); err != nil {
			return err
		}
	}
	stopFake, err := startWeChatFake(cfg, log, payFake)
	if err != nil {
		return err
	}
	defer stopFake()
	wc := newWeChatClient(cfg)
	// Deferred after db.Close, so it runs before it: the worker finishes
	// its batch while the database is open.
	defer startOutboxWorker(db, wc, log)()

	api := &handlers.API{DB: db, Tokens: handlers.NewTokens(cfg.JWTSecret, cfg.JWTKeyID), Log: log, WeChat: wc, Pay: pc}
	app := newApp(cfg, log, api, reg)

	runner := jobs.New(db, log, jobs.Options{})
	var sender jobs.Sender // stays a nil interface when WeChat is not configured
	if wc != nil {
		sender = wc
	}
	var payer jobs.Payer // a nil interface when payment is off
	if pc != nil {
		payer = pc
	}
	for _, j := range append(jobs.Defaults(sender), jobs.PayJobs(payer)...) {
		runner.Register(j)
	}
	api.Jobs = runner
	if err := runner.Start(); err != nil {
		return err
	}
	// Waited for before the database closes: on shutdown a start-up stats
	// run sees ctx cancelled and ends.
	defer statsAtStart(ctx, db, runner, log, time.Now()).Wait()
	// Stopped before the deferred db.Close: a running job finishes (or sees
	// its context cancelled) while the database is still open.
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		runner.Stop(ctx)
		log.Info("jobs stopped")
	}()

	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return err
	}
	log.Info("kehou listening", "addr", ln.Addr().String(), "env", cfg.Env)
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	if err := app.ShutdownWithTimeout(cfg.ShutdownTimeout); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Error("shutdown", "error", err.Error())
	}
	log.Info("stopped")
	return nil
}

// errSeededInProduction is what a production server says about a database
// `kehou seed demo` loaded.
var errSeededInProduction = errors.New("refusing to serve with KEHOU_ENV=production: this database was loaded by " +
	"`kehou seed demo`, whose accounts (demo_platform …) share a published password. Start clean: point " +
	"DATABASE_URL at a new, empty database, then create the first platform admin with " +
	"`kehou user add --username U --role platform_admin`. Keep the demo database for development (KEHOU_ENV=dev)")

// refuseSeeded stops a production server on a database the demo seeded
// (models.Seeded): `seed demo` refuses production itself, but a database
// seeded in development can still be pointed at by a production server.
func refuseSeeded(ctx context.Context, cfg Config, db *models.DB) error {
	if !cfg.Production() {
		return nil
	}
	seeded, err := models.Seeded(ctx, db, models.SeedDemo)
	if err != nil {
		return err
	}
	if seeded {
		return errSeededInProduction
	}
	return nil
}
