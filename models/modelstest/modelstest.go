// Package modelstest opens fresh, migrated databases for tests and builds
// small fixtures. Every test gets its own database: a temporary SQLite file,
// or, when TEST_DATABASE_URL is set, a private schema on that PostgreSQL that
// is reset (or dropped) afterwards. The same tests therefore prove both
// engines.
package modelstest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"kehou/models"
)

func init() { models.BcryptCost = bcrypt.MinCost }

// PostgresURL is TEST_DATABASE_URL; empty means SQLite only.
func PostgresURL() string { return os.Getenv("TEST_DATABASE_URL") }

// URL returns a DATABASE_URL for a fresh, empty database for tb and registers
// its cleanup. Use it to start several instances on one database.
func URL(tb testing.TB) string {
	tb.Helper()
	if PostgresURL() == "" {
		return "sqlite:" + filepath.Join(tb.TempDir(), "kehou.db")
	}
	return thePool(tb).newSchema(tb)
}

// Open opens url and migrates it; the handle is closed at cleanup. A
// database of URL that is still empty is filled with a migrated one instead
// of migrating it: on PostgreSQL a schema from the pool (pgpool.go), on
// SQLite a copy of the process's template file (sqlitetpl.go).
func Open(tb testing.TB, url string) *models.DB {
	tb.Helper()
	var filled bool
	if PostgresURL() != "" {
		filled = thePool(tb).fill(tb, url)
	} else {
		var err error
		if filled, err = fillSQLite(url); err != nil {
			tb.Fatalf("modelstest: %v", err)
		}
	}
	db, err := models.Open(url, models.Options{})
	if err != nil {
		tb.Fatalf("modelstest: open: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if filled && db.Dialect == models.SQLite {
		// Open's PRAGMA optimize analysed the copy's (empty) tables, which
		// a new file, empty when opened, never has: planner statistics
		// that would last the whole test.
		for _, q := range []string{"DROP TABLE IF EXISTS sqlite_stat1", "DROP TABLE IF EXISTS sqlite_stat4"} {
			if err := db.W.Exec(q).Error; err != nil {
				tb.Fatalf("modelstest: %s: %v", q, err)
			}
		}
	}
	if filled {
		return db
	}
	if _, err := models.Migrate(context.Background(), db); err != nil {
		tb.Fatalf("modelstest: migrate: %v", err)
	}
	return db
}

// MustOpenDB opens a fresh, migrated database for tb.
func MustOpenDB(tb testing.TB) *models.DB {
	tb.Helper()
	return Open(tb, URL(tb))
}

// Engine names the engine tests run on, for subtest names and skips.
func Engine() string {
	if PostgresURL() != "" {
		return "postgres"
	}
	return "sqlite"
}

// seq makes fixture names unique; atomic, so parallel tests may share it.
var seq atomic.Int64

func init() { seq.Store(time.Now().UnixNano() % 1_000_000) }

func next() int64 { return seq.Add(1) }

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("modelstest: %v", err)
	}
}

// Region creates a region under parent (nil for a root).
func Region(tb testing.TB, db *models.DB, parent *int64) models.Region {
	tb.Helper()
	n := next()
	r, err := models.CreateRegion(context.Background(), db, models.SystemActor,
		models.NewRegion{Name: fmt.Sprintf("区%d", n), Code: fmt.Sprintf("R%d", n), ParentID: parent})
	must(tb, err)
	return r
}

// School creates a school in regionID.
func School(tb testing.TB, db *models.DB, regionID int64) models.School {
	tb.Helper()
	s, err := models.CreateSchool(context.Background(), db, models.SystemActor,
		models.NewSchool{Name: fmt.Sprintf("第%d小学", next()), RegionID: regionID})
	must(tb, err)
	return s
}

// Student inserts an active student of grade in schoolID, with guardian
// phone (empty for none).
func Student(tb testing.TB, db *models.DB, schoolID int64, grade int, phone string) models.Student {
	tb.Helper()
	n := next()
	s := models.Student{SchoolID: schoolID, StudentNo: fmt.Sprintf("S%d", n), Name: fmt.Sprintf("学生%d", n),
		Gender: "男", Grade: grade, ClassName: "1班", Active: true}
	must(tb, db.Tx(context.Background(), func(tx *gorm.DB) error {
		if err := tx.Create(&s).Error; err != nil {
			return err
		}
		if phone == "" {
			return nil
		}
		return tx.Create(&models.Guardian{StudentID: s.ID, Name: "家长", Phone: phone, Relationship: "母亲"}).Error
	}))
	return s
}

// Staff creates a staff user with password "passw0rd!" and returns it.
func Staff(tb testing.TB, db *models.DB, role models.Role, schoolID, regionID int64) models.User {
	tb.Helper()
	in := models.NewUser{Username: fmt.Sprintf("u%d", next()), Password: Password, Role: role}
	if schoolID != 0 {
		in.SchoolID = &schoolID
	}
	if regionID != 0 {
		in.RegionID = &regionID
	}
	u, err := models.CreateUser(context.Background(), db, models.SystemActor, in)
	must(tb, err)
	return u
}

// Password is the password of every Staff fixture.
const Password = "passw0rd!"

// Parent creates a parent user (as WeChat login would) linked to students.
func Parent(tb testing.TB, db *models.DB, studentIDs ...int64) models.User {
	tb.Helper()
	openid := fmt.Sprintf("o%d", next())
	u := models.User{Role: models.RoleParent, OpenID: &openid, DisplayName: "家长"}
	must(tb, db.Tx(context.Background(), func(tx *gorm.DB) error {
		if err := tx.Create(&u).Error; err != nil {
			return err
		}
		for _, id := range studentIDs {
			if err := models.LinkParent(tx, u.ID, id, "phone"); err != nil {
				return err
			}
		}
		return nil
	}))
	return u
}
