package modelstest

import (
	"strconv"
	"testing"

	"kehou/models"
)

// FillStorage makes db's database refuse, for want of space, every new
// enrollment and every probe of models.DB.CheckStorage, and returns the
// function that gives the space back (also run at cleanup).
//
// On SQLite the refusal is real: the writer connection's max_page_count
// is pinned at the file's size, and a trigger makes each enrollment
// insert a blob that needs new pages, so the engine answers SQLITE_FULL
// through the ordinary write path. On PostgreSQL, whose disk a test cannot
// fill, triggers raise SQLSTATE 53100 (disk_full), the code a full disk
// gives.
func FillStorage(tb testing.TB, db *models.DB) (restore func()) {
	tb.Helper()
	var setup, undo []string
	if db.Dialect == models.Postgres {
		setup = []string{
			`CREATE FUNCTION kehou_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$`,
			"CREATE TRIGGER kehou_full_enrollments BEFORE INSERT ON enrollments FOR EACH ROW EXECUTE FUNCTION kehou_disk_full()",
			"CREATE TRIGGER kehou_full_probe BEFORE INSERT ON write_probe FOR EACH ROW EXECUTE FUNCTION kehou_disk_full()",
		}
		undo = []string{
			"DROP TRIGGER IF EXISTS kehou_full_enrollments ON enrollments",
			"DROP TRIGGER IF EXISTS kehou_full_probe ON write_probe",
			"DROP FUNCTION IF EXISTS kehou_disk_full()",
		}
	} else {
		setup = []string{
			"CREATE TABLE kehou_filler (b BLOB)",
			"CREATE TRIGGER kehou_full_enrollments AFTER INSERT ON enrollments BEGIN INSERT INTO kehou_filler VALUES (zeroblob(8388608)); END",
		}
		undo = []string{
			"PRAGMA max_page_count = 4294967294",
			"DROP TRIGGER IF EXISTS kehou_full_enrollments",
			"DROP TABLE IF EXISTS kehou_filler",
		}
	}
	for _, q := range setup {
		must(tb, db.W.Exec(q).Error)
	}
	if db.Dialect == models.SQLite {
		var pages int64
		must(tb, db.W.Raw("PRAGMA page_count").Scan(&pages).Error)
		must(tb, db.W.Exec("PRAGMA max_page_count = "+strconv.FormatInt(pages, 10)).Error)
	}
	done := false
	restore = func() {
		if done {
			return
		}
		done = true
		for _, q := range undo {
			must(tb, db.W.Exec(q).Error)
		}
	}
	tb.Cleanup(restore)
	return restore
}
