package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names the SQL engine behind a DB.
type Dialect string

// The two engines kehou runs on.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is kehou's handle on its database. W is the writer: on SQLite a single
// connection whose transactions begin IMMEDIATE, so writers queue in Go instead
// of failing with SQLITE_BUSY; R is a pool of read-only connections that never
// wait on the writer (WAL). On PostgreSQL both point at the same pool.
type DB struct {
	W       *gorm.DB
	R       *gorm.DB
	Dialect Dialect
	// Path is the SQLite file (empty on PostgreSQL); used by backup.
	Path string
	// Clock is the time of operations whose caller passes none (publishing
	// an offering generates its sessions from today on); nil means
	// time.Now. Tests move it.
	Clock func() time.Time
	// LinkPoll is how long a view of link_version may serve before an
	// instance reads it again (0: DefaultLinkPoll; see links_remove.go).
	LinkPoll time.Duration
	// linkChecked is when link_version was last read (UnixNano of Clock).
	linkChecked atomic.Int64

	// gen counts the write transactions this handle finished (see
	// Generation).
	gen atomic.Uint64
	// enroll is the enrollment write path (enroll_pipeline.go), started
	// by the server.
	enroll enrollPipeline
	// pay is the write path of WeChat Pay's payment notifications
	// (wechatpay_batch.go).
	pay payPipeline
	// linkSeen is the link_version this process last read (see
	// links_remove.go).
	linkSeen atomic.Int64
	// MaxChildrenPerGuardian bounds the students of one school one
	// guardian phone (or one parent account) covers; 0 means
	// DefaultMaxChildrenPerGuardian (see links_add.go).
	MaxChildrenPerGuardian int
	// cache holds what the enrollment and browse paths read most (see
	// cache.go).
	cache caches
	// Log receives what an operator must know of the database (a full
	// disk, storage.go); nil means slog's default.
	Log *slog.Logger
	// StorageProbeEvery bounds how often CheckStorage probes a write
	// while the database is marked full (0: once a second; tests set a
	// nanosecond).
	StorageProbeEvery time.Duration
	// storage is whether writes fail for want of space (storage.go).
	storage storageState

	// observeDecide, when set (tests), sees every enrollment as its batch
	// decides it.
	observeDecide func(NewEnrollment)
	// observeStats, when set (tests), is told each step of ComputeStats as
	// it ends.
	observeStats func(step string)
}

// Generation counts the write transactions run through Tx on this handle,
// bumped after each one ends. A cache of data read from the database can
// note the generation before its query and trust the result while the
// generation has not moved: no write of this process committed since. Writes
// by other processes (other instances on one PostgreSQL) do not move it, so
// such a cache also needs an age limit.
func (db *DB) Generation() uint64 { return db.gen.Load() }

// Options tunes Open.
type Options struct {
	// MaxReaders bounds the SQLite reader pool (default 8).
	MaxReaders int
	// MaxConns bounds the PostgreSQL pool (default 20).
	MaxConns int
	// Logger receives GORM's SQL logs; nil silences them.
	Logger logger.Interface
}

// ErrBadDatabaseURL is returned by Open for a DATABASE_URL it cannot use.
var ErrBadDatabaseURL = errors.New("models: DATABASE_URL must be sqlite:PATH or postgres://…")

// Open connects to the database named by url: "sqlite:PATH" or "postgres://…".
// It does not migrate; call Migrate.
func Open(rawURL string, opt Options) (*DB, error) {
	if opt.Logger == nil {
		opt.Logger = logger.Discard
	}
	switch {
	case strings.HasPrefix(rawURL, "sqlite:"):
		return openSQLite(strings.TrimPrefix(rawURL, "sqlite:"), opt)
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return openPostgres(rawURL, opt)
	}
	return nil, ErrBadDatabaseURL
}

func gormConfig(opt Options) *gorm.Config {
	return &gorm.Config{
		Logger:                 opt.Logger,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		SkipDefaultTransaction: true,
		PrepareStmt:            false,
		TranslateError:         true,
	}
}

// sqliteDSN is the DSN of every connection to the SQLite file at path, with
// params (name=value&…) added. WAL lets readers run beside the writer;
// busy_timeout covers the rare checkpoint; synchronous=NORMAL is durable
// across process crashes in WAL.
func sqliteDSN(path, params string) string {
	return "file:" + url.PathEscape(path) + "?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=NORMAL&" + params
}

func openSQLite(path string, opt Options) (*DB, error) {
	if path == "" {
		return nil, ErrBadDatabaseURL
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("models: create data dir: %w", err)
		}
	}
	const pool = "_cache_size=-32000&_stmt_cache_size=128"
	wdsn := sqliteDSN(path, pool+"&_txlock=immediate")
	rdsn := sqliteDSN(path, pool+"&_query_only=true")

	w, err := gorm.Open(sqlite.Open(wdsn), gormConfig(opt))
	if err != nil {
		return nil, fmt.Errorf("models: open sqlite writer: %w", err)
	}
	wsql, _ := w.DB()
	wsql.SetMaxOpenConns(1)
	wsql.SetMaxIdleConns(1)
	wsql.SetConnMaxLifetime(0)
	if err := wsql.Ping(); err != nil {
		return nil, fmt.Errorf("models: ping sqlite: %w", err)
	}
	// Planner statistics, as SQLite recommends for long-lived connections:
	// without them its planner nests loops over unindexed temporary tables
	// (the stats job on a province ran for more than 9 minutes instead of
	// seconds) and scans whole schools for one parent. analysis_limit keeps
	// the sampling to milliseconds even on millions of rows.
	if err := w.Exec("PRAGMA analysis_limit = 1000").Error; err != nil {
		return nil, fmt.Errorf("models: sqlite analysis_limit: %w", err)
	}
	if err := w.Exec("PRAGMA optimize = 0x10002").Error; err != nil {
		return nil, fmt.Errorf("models: sqlite optimize: %w", err)
	}
	// Temporary b-trees (an IN list over json_each, a sort) stay in memory
	// instead of a temporary file.
	if err := w.Exec("PRAGMA temp_store = MEMORY").Error; err != nil {
		return nil, fmt.Errorf("models: sqlite temp_store: %w", err)
	}

	r, err := gorm.Open(sqlite.Open(rdsn), gormConfig(opt))
	if err != nil {
		return nil, fmt.Errorf("models: open sqlite readers: %w", err)
	}
	n := opt.MaxReaders
	if n <= 0 {
		n = 8
	}
	rsql, _ := r.DB()
	rsql.SetMaxOpenConns(n)
	rsql.SetMaxIdleConns(n)
	db := &DB{W: w, R: r, Dialect: SQLite, Path: path}
	return db, nil
}

func openPostgres(dsn string, opt Options) (*DB, error) {
	g, err := gorm.Open(postgres.New(postgres.Config{DSN: dsn}), gormConfig(opt))
	if err != nil {
		return nil, fmt.Errorf("models: open postgres: %w", err)
	}
	s, _ := g.DB()
	n := opt.MaxConns
	if n <= 0 {
		n = 20
	}
	s.SetMaxOpenConns(n)
	s.SetMaxIdleConns(n)
	s.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{W: g, R: g, Dialect: Postgres}
	return db, nil
}

// Warm opens every connection the pools may keep, side by side, so the
// first rush after a start does not pay for them (on PostgreSQL each is a
// backend started and a SCRAM handshake, a few milliseconds of CPU on both
// sides, twenty of them at once in the rush's first milliseconds).
func (db *DB) Warm(ctx context.Context) error {
	pools := []*gorm.DB{db.R}
	if db.W != db.R {
		pools = append(pools, db.W)
	}
	var errs []error
	for _, g := range pools {
		s, err := g.DB()
		if err != nil {
			return err
		}
		n := s.Stats().MaxOpenConnections
		conns := make([]*sql.Conn, n)
		errc := make(chan error, n)
		for i := range conns {
			go func() {
				c, err := s.Conn(ctx)
				if err == nil {
					err = c.PingContext(ctx)
					conns[i] = c
				}
				errc <- err
			}()
		}
		for range conns {
			errs = append(errs, <-errc)
		}
		for _, c := range conns {
			if c != nil {
				c.Close() // back to the pool, which keeps it idle
			}
		}
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers (used by /readyz).
func (db *DB) Ping(ctx context.Context) error {
	s, err := db.R.DB()
	if err != nil {
		return err
	}
	return s.PingContext(ctx)
}

// Close closes every pool.
func (db *DB) Close() error {
	db.enroll.close()
	db.pay.close()
	var errs []error
	for _, g := range []*gorm.DB{db.R, db.W} {
		if s, err := g.DB(); err == nil {
			errs = append(errs, s.Close())
		}
		if db.Dialect == Postgres {
			break // R and W share one pool
		}
	}
	return errors.Join(errs...)
}

// Read returns the reader pool bound to ctx.
func (db *DB) Read(ctx context.Context) *gorm.DB { return db.R.WithContext(ctx) }
