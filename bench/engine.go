package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/gorm"

	"kehou/models"
)

// engine is the kehou server under test on one database (SQLite or
// PostgreSQL): how to start it, the running process, and the data set.
type engine struct {
	b         *bench
	name      string // sqlite | postgres
	url       string // DATABASE_URL
	secret    string
	suffix    string // makes names unique per run
	adminUser string
	adminPass string
	wx        wechatFake
	appID     string // the mini-program's WECHAT_APPID
	spec      childSpec
	srv       *childProc
	api       *apiClient
	data      *benchData
	starts    int
	pprofAddr string // the running server's profiling address, if any
	// env is added to the server's environment for the phases that set
	// it (the WeChat Pay merchant of the notify scenarios).
	env []string
	pay *benchPay // the fake WeChat Pay, once a notify scenario made it
	// payClubs are the priced clubs of the notify scenarios' term.
	payClubs []int64
}

// newEngine prepares to run kehou on url: a WeChat fake for it, and the
// first platform admin created with `kehou user add` (which also migrates).
func (b *bench) newEngine(ctx context.Context, name, dbURL string) (*engine, error) {
	e := &engine{b: b, name: name, url: dbURL, secret: randomHex(32), suffix: randomHex(3),
		adminPass: "Bench" + randomHex(8)}
	e.adminUser = "benchadmin" + e.suffix
	appID, appSecret := "wxbench"+randomHex(6), randomHex(16)
	wx, err := startBenchWeChat(appID, appSecret)
	if err != nil {
		return nil, err
	}
	e.wx, e.appID = wx, appID
	lvl := "warn"
	if b.o.AccessLog {
		lvl = "info"
	}
	e.spec = childSpec{exe: b.o.Kehou, env: []string{
		"DATABASE_URL=" + dbURL, "JWT_SECRET=" + e.secret, "KEHOU_ENV=" + b.o.Env,
		"LOG_LEVEL=" + lvl, "LOG_FORMAT=json", "TRUSTED_PROXIES=127.0.0.1",
		"WECHAT_APPID=" + appID, "WECHAT_SECRET=" + appSecret, "WECHAT_API_BASE=" + wx.URL()}}
	if err := runChildCommand(ctx, e.spec, "user", "add", "--username", e.adminUser,
		"--password", e.adminPass, "--role", "platform_admin"); err != nil {
		wx.Close()
		return nil, err
	}
	return e, nil
}

// close stops the server and the fake.
func (e *engine) close() {
	if e.srv != nil {
		e.stop()
	}
	if e.wx != nil {
		e.wx.Close()
	}
	if e.pay != nil {
		e.pay.Close()
	}
}

// start starts the server process and waits for /readyz.
func (e *engine) start(ctx context.Context) error {
	e.starts++
	spec := e.spec
	spec.env = append(spec.env[:len(spec.env):len(spec.env)], e.env...)
	spec.logFile = filepath.Join(e.b.dir, fmt.Sprintf("server-%s.log", e.name))
	e.pprofAddr = ""
	if e.b.o.PprofDir != "" {
		addr, err := benchFreeAddr()
		if err != nil {
			return err
		}
		spec.env = append(spec.env[:len(spec.env):len(spec.env)], "KEHOU_PPROF_ADDR="+addr)
		e.pprofAddr = addr
	}
	p, err := startChild(ctx, "kehou ("+e.name+")", spec, "/readyz")
	if err != nil {
		return err
	}
	e.srv = p
	e.api = &apiClient{lc: newLoadClient(p.addr, 32, 60*time.Second)}
	return nil
}

// stop stops the server and returns its peak RSS in bytes.
func (e *engine) stop() int64 {
	if e.srv == nil {
		return 0
	}
	e.api.lc.close()
	peak := e.srv.stop()
	e.srv = nil
	return peak
}

// openDB opens the engine's database from the bench process (for the
// invariants and the reset between scenarios).
func (e *engine) openDB() (*models.DB, error) {
	return models.Open(e.url, models.Options{MaxConns: 4, MaxReaders: 2})
}

// resetEnrollments empties the enrollment state (server stopped) so each
// scenario starts from the same published clubs with no seat taken.
func (e *engine) resetEnrollments(ctx context.Context) error {
	db, err := e.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	// The paid rush's and the notify scenarios' money goes with their
	// seats: payments and refunds
	// first (they name orders), then the ledger, then the orders.
	stmts := []string{
		"DELETE FROM pay_refunds",
		"DELETE FROM pay_orders",
		"DELETE FROM fee_ledger",
		"DELETE FROM orders",
		"DELETE FROM outbox",
		"DELETE FROM enrollments",
		"UPDATE offerings SET enrolled_count = 0, waitlisted_count = 0, applied_count = 0",
	}
	return db.Tx(ctx, func(tx *gorm.DB) error {
		for _, s := range stmts {
			if err := tx.Exec(s).Error; err != nil {
				return fmt.Errorf("bench: reset: %s: %w", s, err)
			}
		}
		return nil
	})
}

// analyzeLikeAutovacuum gives PostgreSQL the planner statistics its
// autovacuum would gather within a minute of the data being loaded, so the
// scenarios measure the steady state rather than plans for empty tables. On
// SQLite the server does the same itself when it opens the database.
func (e *engine) analyzeLikeAutovacuum(ctx context.Context) error {
	if e.name != "postgres" {
		return nil
	}
	db, err := e.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	return db.W.WithContext(ctx).Exec("ANALYZE").Error
}

// pgFreshSchema creates a private schema on the PostgreSQL at base and
// returns a URL that uses it, and a func that drops it (unless keep).
func pgFreshSchema(ctx context.Context, base string, keep bool) (string, func(), error) {
	admin, err := models.Open(base, models.Options{MaxConns: 2})
	if err != nil {
		return "", nil, err
	}
	schema := "bench_" + randomHex(5)
	if err := admin.W.WithContext(ctx).Exec("CREATE SCHEMA " + schema).Error; err != nil {
		_ = admin.Close()
		return "", nil, fmt.Errorf("bench: create schema: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		_ = admin.Close()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop := func() {
		if !keep {
			_ = admin.W.Exec("DROP SCHEMA " + schema + " CASCADE").Error
		}
		_ = admin.Close()
	}
	return u.String(), drop, nil
}

// redactURL hides a password in a database URL for printing.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil || !strings.HasPrefix(s, "postgres") {
		return s
	}
	u.User = url.User(u.User.Username())
	return u.String()
}
