package models

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"
)

// TestErrorClassesByDriverCode: retry, unique and foreign-key violations
// are decided by the drivers' codes, wrapped or not, and never by a
// message that merely reads like one.
func TestErrorClassesByDriverCode(t *testing.T) {
	sq := func(code sqlite3.ErrNo, ext sqlite3.ErrNoExtended) error {
		return fmt.Errorf("models: wrapped: %w", sqlite3.Error{Code: code, ExtendedCode: ext})
	}
	pg := func(code string) error { return fmt.Errorf("models: wrapped: %w", &pgconn.PgError{Code: code}) }
	cases := []struct {
		name                    string
		err                     error
		retry, unique, fk, full bool
	}{
		{"pgSerialization", pg("40001"), true, false, false, false},
		{"pgDeadlock", pg("40P01"), true, false, false, false},
		{"pgUnique", pg("23505"), false, true, false, false},
		{"pgForeignKey", pg("23503"), false, false, true, false},
		{"pgDiskFull", pg("53100"), false, false, false, true},
		{"pgOther", pg("22001"), false, false, false, false},
		{"sqliteBusySnapshot", sq(sqlite3.ErrBusy, sqlite3.ErrBusySnapshot), true, false, false, false},
		{"sqliteUnique", sq(sqlite3.ErrConstraint, sqlite3.ErrConstraintUnique), false, true, false, false},
		{"sqlitePrimaryKey", sq(sqlite3.ErrConstraint, sqlite3.ErrConstraintPrimaryKey), false, true, false, false},
		{"sqliteForeignKey", sq(sqlite3.ErrConstraint, sqlite3.ErrConstraintForeignKey), false, false, true, false},
		{"sqliteFull", sq(sqlite3.ErrFull, sqlite3.ErrNoExtended(sqlite3.ErrFull)), false, false, false, true},
		{"gormDuplicated", gorm.ErrDuplicatedKey, false, true, false, false},
		{"textOnly", errors.New("UNIQUE constraint failed; SQLSTATE 23505; SQLSTATE 40001; database or disk is full"),
			false, false, false, false},
		{"nil", nil, false, false, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := isRetryable(c.err); got != c.retry {
				t.Errorf("isRetryable = %v", got)
			}
			if got := isUniqueViolation(c.err); got != c.unique {
				t.Errorf("isUniqueViolation = %v", got)
			}
			if got := isForeignKeyViolation(c.err); got != c.fk {
				t.Errorf("isForeignKeyViolation = %v", got)
			}
			if got := IsStorageFull(c.err); got != c.full {
				t.Errorf("IsStorageFull = %v", got)
			}
		})
	}
}

func openBareSQLite(t *testing.T) *DB {
	t.Helper()
	db, err := Open("sqlite:"+filepath.Join(t.TempDir(), "tx.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestRetryTxRunsAgainOnRetryableCode: an abort the engine marks safe to
// run again is retried; any other error is answered at once.
func TestRetryTxRunsAgainOnRetryableCode(t *testing.T) {
	db := openBareSQLite(t)
	for _, c := range []struct {
		name  string
		first error
		runs  int
	}{
		{"deadlockRetried", &pgconn.PgError{Code: "40P01"}, 2},
		{"uniqueNotRetried", &pgconn.PgError{Code: "23505"}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			runs := 0
			err := retryTx(context.Background(), db, func(tx *gorm.DB) error {
				runs++
				if runs == 1 {
					return c.first
				}
				return nil
			})
			if runs != c.runs {
				t.Fatalf("ran %d times (err %v), want %d", runs, err, c.runs)
			}
		})
	}
}

// TestTxOneClock: every statement of a transaction reads one clock, and an
// operation with its own clock passes it in.
func TestTxOneClock(t *testing.T) {
	db := openBareSQLite(t)
	var a, b time.Time
	if err := db.Tx(context.Background(), func(tx *gorm.DB) error {
		a = txNow(tx)
		b = txNow(tx.Session(&gorm.Session{}))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if a.IsZero() || !a.Equal(b) {
		t.Fatalf("two clocks in one transaction: %v and %v", a, b)
	}
	want := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	_ = db.Tx(withClock(context.Background(), want), func(tx *gorm.DB) error {
		a = txNow(tx)
		return nil
	})
	if !a.Equal(want) {
		t.Fatalf("txNow %v, want the operation's clock %v", a, want)
	}
}

// TestNoErrorTextMatching: no code in models decides on an error by its
// message (the drivers' codes decide, in tx.go).
func TestNoErrorTextMatching(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, w := range []string{`"SQLSTATE`, `constraint failed"`, `"database or disk is full`, `"deadlock detected`} {
				if strings.Contains(line, w) {
					t.Errorf("%s:%d matches error text %s: decide by the driver's code (tx.go)", f, i+1, w)
				}
			}
		}
	}
}

// TestFreedSeatRetiresOfferCaches: a transaction that frees a seat retires
// the offering and sold-out caches when it ends, whoever ran it (a job, a
// notification — no writeOfferings needed), even when it rolls back; one
// that only takes seats retires nothing.
func TestFreedSeatRetiresOfferCaches(t *testing.T) {
	db := openBareSQLite(t)
	ctx := context.Background()
	before := db.cache.offers.Load()
	_ = db.Tx(ctx, func(tx *gorm.DB) error { return nil })
	if db.cache.offers.Load() != before {
		t.Fatal("a transaction that freed nothing retired the offering caches")
	}
	_ = db.Tx(ctx, func(tx *gorm.DB) error { offeringsChanged(tx); return nil })
	if db.cache.offers.Load() == before {
		t.Fatal("a freed seat did not retire the offering caches")
	}
	before = db.cache.offers.Load()
	_ = db.Tx(ctx, func(tx *gorm.DB) error { offeringsChanged(tx); return errors.New("rolled back") })
	if db.cache.offers.Load() == before {
		t.Fatal("a rolled-back transaction that freed a seat left the caches")
	}
}

// TestOfferingFactsNamedOnce: every fact the batch reads of an offering is
// a field with its column and JSON name, so both engines read it from one
// declaration.
func TestOfferingFactsNamedOnce(t *testing.T) {
	typ := reflect.TypeFor[offeringRow]()
	n := 0
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		n++
		if f.Tag.Get("col") == "" || f.Tag.Get("json") == "" {
			t.Errorf("offeringRow.%s lacks its col or json name", f.Name)
		}
	}
	if len(offeringFacts.fields) != n || strings.Count(offeringRowColumns, " AS ") != n+1 {
		t.Fatalf("%d facts, %d read: %s", n, len(offeringFacts.fields), offeringRowColumns)
	}
}
