package models

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"
)

// The one door into a transaction. Every write of kehou goes through one
// of these entry points, all in this file:
//
//   - DB.Tx: a write transaction on the writer, one attempt;
//   - retryTx: DB.Tx, run again when the engine aborted it for a deadlock
//     or a serialization failure (nothing was committed, so it is safe);
//   - DB.writeOfferings: retryTx, then the cached facts about offerings are
//     retired (the way to write an offering or free a seat);
//   - DB.sharedTx: retryTx for work done on behalf of several callers at
//     once (the enrollment batch), so no one caller's context cancels it;
//   - connTx: BEGIN … COMMIT by hand on a dedicated connection, for the
//     stats job on SQLite, whose temporary tables live in that connection.
//
// Whether to retry, and whether a write hit a unique constraint or a full
// disk, is decided by the drivers' error codes (SQLite's extended result
// codes, PostgreSQL's SQLSTATE), never by the text of a message. A full
// disk is answered ErrStorageFull by DB.Tx itself (storage.go), so every
// write, whoever made it, says so the same way.
//
// Every transaction carries one clock: txNow(tx) is the same instant for
// every statement of an operation (an operation that has its own "now",
// say a test's, passes it in with withClock).

// txClockKey is the context key of a transaction's clock.
type txClockKey struct{}

// withClock returns ctx carrying now as the clock of the transactions run
// with it.
func withClock(ctx context.Context, now time.Time) context.Context {
	return context.WithValue(ctx, txClockKey{}, now.UTC())
}

// clockOf is the clock ctx carries, if any.
func clockOf(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(txClockKey{}).(time.Time)
	return t, ok
}

// txNow is the clock of the operation tx belongs to: the time its
// transaction began, or the one its caller passed with withClock.
func txNow(tx *gorm.DB) time.Time {
	if tx.Statement != nil && tx.Statement.Context != nil {
		if t, ok := clockOf(tx.Statement.Context); ok {
			return t
		}
	}
	return time.Now().UTC()
}

// txEffectsKey is the context key of a transaction's effects.
type txEffectsKey struct{}

// txEffects are what a transaction changed that outlives it: the caches
// DB.Tx retires when it ends (committed or not: retiring needlessly only
// costs a re-read).
type txEffects struct {
	offers bool // seats freed or an offering changed (offeringsChanged)
}

// effectsOf is the effects record of tx's transaction (nil outside DB.Tx).
func effectsOf(tx *gorm.DB) *txEffects {
	if tx.Statement == nil || tx.Statement.Context == nil {
		return nil
	}
	fx, _ := tx.Statement.Context.Value(txEffectsKey{}).(*txEffects)
	return fx
}

// Tx runs fn in a write transaction on the writer. On SQLite it begins
// IMMEDIATE, so the write lock is taken up front and the transaction cannot
// fail half-way on a lock upgrade. fn's statements share one clock
// (txNow); the caches its writes made stale (offeringsChanged) are retired when
// it ends.
func (db *DB) Tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	defer db.gen.Add(1)
	if _, ok := clockOf(ctx); !ok {
		ctx = withClock(ctx, time.Now())
	}
	fx := &txEffects{}
	ctx = context.WithValue(ctx, txEffectsKey{}, fx)
	err := db.W.WithContext(ctx).Transaction(fn)
	if fx.offers {
		db.offersChanged()
	}
	return db.noteWrite(err)
}

// retryTx runs fn in a write transaction, running it again (a few times,
// after a short pause) when the engine aborted it for a deadlock or a
// serialization failure.
func retryTx(ctx context.Context, db *DB, fn func(tx *gorm.DB) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = db.Tx(ctx, fn)
		if err == nil || !isRetryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
	return err
}

// writeOfferings runs fn in a write transaction (retryTx) that writes an
// offering or settles its seats in bulk, and so retires every cached fact
// about offerings when it ends (offeringsChanged).
func (db *DB) writeOfferings(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return retryTx(ctx, db, func(tx *gorm.DB) error {
		offeringsChanged(tx)
		return fn(tx)
	})
}

// sharedTx runs fn (retryTx) for several callers at once: on a context of
// its own, since one caller giving up must not roll back the others' work
// (each caller stops waiting for its own answer instead).
func (db *DB) sharedTx(fn func(tx *gorm.DB) error) error {
	return retryTx(context.Background(), db, fn)
}

// connTx runs fn between begin ("BEGIN" or "BEGIN IMMEDIATE") and COMMIT
// on conn, a handle whose pool holds a single connection, rolling back when
// fn fails: for work that must stay on one connection of its own (the stats
// job's temporary tables on SQLite).
func connTx(conn *gorm.DB, begin string, fn func() error) error {
	if err := conn.Exec(begin).Error; err != nil {
		return err
	}
	if err := fn(); err != nil {
		_ = conn.Exec("ROLLBACK").Error
		return err
	}
	return conn.Exec("COMMIT").Error
}

// holdingWriter runs fn holding the writer's single SQLite connection, idle:
// for a write made on a connection of its own (the stats job publishes
// from temporary tables that live on its connection). This process's
// writers wait their turn in the pool meanwhile, as they wait for each
// other, instead of meeting the second writer's lock in SQLite and
// sleeping in its busy handler (1, 2, 5, 10… ms a try: about 0.36 s of
// sleeps in one demo seed, and requests beside the stats job slept too).
// A caller already holding the writer (inside DB.Tx) would wait for
// itself: fn must not be reached from a transaction. On PostgreSQL, where
// writers do not share one connection, fn just runs.
func (db *DB) holdingWriter(ctx context.Context, fn func() error) error {
	if db.Dialect != SQLite {
		return fn()
	}
	return db.W.WithContext(ctx).Connection(func(*gorm.DB) error { return fn() })
}

// dialectOf is the engine behind tx (or any handle): the one way code that
// holds a transaction, not a DB, asks which SQL to speak.
func dialectOf(tx *gorm.DB) Dialect {
	if tx.Dialector.Name() == "postgres" {
		return Postgres
	}
	return SQLite
}

// The PostgreSQL SQLSTATEs kehou decides on.
const (
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
	pgUniqueViolation      = "23505"
	pgForeignKeyViolation  = "23503"
	pgDiskFull             = "53100"
)

// driverCode is err's SQLite extended result code, or its PostgreSQL
// SQLSTATE (one of the two is zero).
func driverCode(err error) (sqlite sqlite3.ErrNoExtended, pg string) {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode, ""
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return 0, pe.Code
	}
	return 0, ""
}

// isRetryable reports an abort that is safe to run again: a PostgreSQL
// serialization failure or deadlock, or SQLite's busy snapshot (a reader
// that tried to write after another writer committed).
func isRetryable(err error) bool {
	sq, pg := driverCode(err)
	return pg == pgSerializationFailure || pg == pgDeadlockDetected || sq == sqlite3.ErrBusySnapshot
}

// isUniqueViolation reports a unique-constraint failure on either engine
// (GORM translates the ones of its own statements into ErrDuplicatedKey,
// from the same codes).
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	sq, pg := driverCode(err)
	return pg == pgUniqueViolation || sq == sqlite3.ErrConstraintUnique || sq == sqlite3.ErrConstraintPrimaryKey
}

// isForeignKeyViolation reports a foreign-key failure on either engine.
func isForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		return true
	}
	sq, pg := driverCode(err)
	return pg == pgForeignKeyViolation || sq == sqlite3.ErrConstraintForeignKey
}

// IsStorageFull reports that the database could not write for want of
// space: SQLite's SQLITE_FULL, PostgreSQL's 53100 disk_full.
func IsStorageFull(err error) bool {
	if err == nil {
		return false
	}
	sq, pg := driverCode(err)
	return pg == pgDiskFull || (sq&0xff) == sqlite3.ErrNoExtended(sqlite3.ErrFull)
}

// The enrollment transaction runs its statements through database/sql on
// the transaction's own connection, not through GORM: on the single SQLite
// writer every microsecond is serial, and GORM's statement building and
// callbacks cost a third of the writer's time in a rush. The SQL is written
// with ? placeholders and rebound to $n for PostgreSQL.

// raw is the database/sql face of a GORM handle (inside a transaction, its
// *sql.Tx).
type raw struct {
	tx *gorm.DB
	d  Dialect
}

func rawOf(tx *gorm.DB) raw { return raw{tx: tx, d: dialectOf(tx)} }

var dollarQueries sync.Map // ? query → $n query

// sql returns q for the engine.
func (r raw) sql(q string) string {
	if r.d != Postgres {
		return q
	}
	if d, ok := dollarQueries.Load(q); ok {
		return d.(string)
	}
	var sb strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(n))
			continue
		}
		sb.WriteByte(q[i])
	}
	d := sb.String()
	dollarQueries.Store(q, d)
	return d
}

func (r raw) exec(q string, args ...any) (sql.Result, error) {
	return r.tx.Statement.ConnPool.ExecContext(r.tx.Statement.Context, r.sql(q), args...)
}

func (r raw) query(q string, args ...any) (*sql.Rows, error) {
	return r.tx.Statement.ConnPool.QueryContext(r.tx.Statement.Context, r.sql(q), args...)
}

func (r raw) queryRow(q string, args ...any) *sql.Row {
	return r.tx.Statement.ConnPool.QueryRowContext(r.tx.Statement.Context, r.sql(q), args...)
}

// each runs q and hands each row to fn.
func (r raw) each(q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := r.query(q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// affected runs q and returns the rows it changed.
func (r raw) affected(q string, args ...any) (int64, error) {
	res, err := r.exec(q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
