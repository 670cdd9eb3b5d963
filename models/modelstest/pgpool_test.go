package modelstest

import (
	"context"
	"errors"
	"testing"

	"gorm.io/gorm"

	"kehou/models"
)

var errRollback = errors.New("roll back")

// schemaOID is the catalog id of the schema db works in: the same id after
// a test ends means the next one got the same schema back from the pool.
func schemaOID(t *testing.T, db *models.DB) int64 {
	t.Helper()
	var oid int64
	if err := db.R.Raw("SELECT oid::bigint FROM pg_namespace WHERE nspname = current_schema()").Scan(&oid).Error; err != nil || oid == 0 {
		t.Fatalf("current schema: %d, %v", oid, err)
	}
	return oid
}

// sameAsTemplate fails t unless db's schema holds exactly what the
// template (a freshly migrated schema) holds: the catalog, every table's
// rows and every sequence.
func sameAsTemplate(t *testing.T, db *models.DB) {
	t.Helper()
	p := thePool(t)
	tpl, err := p.template()
	if err != nil {
		t.Fatal(err)
	}
	var schema string
	if err := db.R.Raw("SELECT current_schema()").Scan(&schema).Error; err != nil {
		t.Fatal(err)
	}
	fp, err := p.fingerprint(schema)
	if err != nil || fp != tpl.fingerprint {
		t.Fatalf("catalog of %s differs from the template's (%v)", schema, err)
	}
	got, err := p.digests(schema, tpl.tables)
	if err != nil {
		t.Fatal(err)
	}
	want, err := p.digests(tpl.name, tpl.tables)
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range tpl.tables {
		if tbl == "schema_migrations" {
			continue // applied_at is when; compared below without it
		}
		if got[tbl] != want[tbl] {
			t.Errorf("table %s: rows differ from a fresh schema's", tbl)
		}
	}
	var versions [2]string
	for i, s := range []string{schema, tpl.name} {
		if err := db.R.Raw("SELECT string_agg(version || ' ' || name, ',' ORDER BY version) FROM " + s + ".schema_migrations").Scan(&versions[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
	if versions[0] != versions[1] {
		t.Errorf("schema_migrations: %s, fresh %s", versions[0], versions[1])
	}
	seqs, err := p.sequences(schema)
	if err != nil {
		t.Fatal(err)
	}
	for n, v := range tpl.sequences {
		if seqs[n] != v {
			t.Errorf("sequence %s = %v, fresh %v", n, seqs[n], v)
		}
	}
	// And the next row of a table gets id 1, as in a fresh schema.
	r := Region(t, db, nil)
	if r.ID != 1 {
		t.Errorf("first region id = %d, want 1", r.ID)
	}
}

// TestSchemaPool: on PostgreSQL a schema a test wrote in comes back to the
// next test as a freshly migrated one; one whose catalog a test changed,
// or that a connection still uses when its test ends, is dropped instead.
func TestSchemaPool(t *testing.T) {
	if PostgresURL() == "" {
		t.Skip("the schema pool is PostgreSQL's (TEST_DATABASE_URL)")
	}
	ctx := context.Background()
	var used int64
	t.Run("write", func(t *testing.T) {
		db := MustOpenDB(t)
		used = schemaOID(t, db)
		root := Region(t, db, nil)
		school := School(t, db, Region(t, db, &root.ID).ID)
		st := Student(t, db, school.ID, 3, "13800000000")
		Parent(t, db, st.ID)
		Staff(t, db, models.RoleSchoolAdmin, school.ID, 0)
		for _, q := range []string{
			"UPDATE link_version SET version = version + 7",
			"DELETE FROM schema_migrations WHERE version = (SELECT min(version) FROM schema_migrations)",
			"INSERT INTO seed_marks (kind, seeded_ms) VALUES ('test', 1)",
		} {
			if err := db.W.Exec(q).Error; err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		// A rolled-back insert moves a sequence and leaves its table empty.
		err := db.Tx(ctx, func(tx *gorm.DB) error {
			if err := tx.Exec("INSERT INTO terms (school_id, name, starts_on, ends_on, max_clubs, created_at) VALUES (?, 'x', '2026-09-01', '2027-01-15', 2, now())", school.ID).Error; err != nil {
				return err
			}
			return errRollback
		})
		if err != errRollback {
			t.Fatalf("insert a term: %v", err)
		}
	})
	t.Run("reused fresh", func(t *testing.T) {
		before := thePool(t).swaps.Load()
		db := MustOpenDB(t)
		if thePool(t).swaps.Load() != before+1 || schemaOID(t, db) != used {
			t.Fatalf("the schema of the last test was not reused (swaps %d → %d)", before, thePool(t).swaps.Load())
		}
		sameAsTemplate(t, db)
	})
	t.Run("catalog changed", func(t *testing.T) {
		db := MustOpenDB(t)
		used = schemaOID(t, db)
		if err := db.W.Exec("DROP TABLE seed_marks").Error; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("changed one dropped", func(t *testing.T) {
		db := MustOpenDB(t)
		if schemaOID(t, db) == used {
			t.Fatal("a schema missing a table was reused")
		}
		sameAsTemplate(t, db)
	})
	t.Run("still in use", func(t *testing.T) {
		inUseWait = 0
		t.Cleanup(func() { inUseWait = defaultInUseWait })
		var leaked *models.DB
		// Registered before URL's cleanup, so it runs after it: the
		// connection is still open when the schema is released.
		t.Cleanup(func() { _ = leaked.Close() })
		url := URL(t)
		db := Open(t, url)
		used = schemaOID(t, db)
		var err error
		if leaked, err = models.Open(url, models.Options{}); err != nil {
			t.Fatal(err)
		}
		if err := leaked.R.Exec("SELECT 1").Error; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("in use dropped", func(t *testing.T) {
		db := MustOpenDB(t)
		if schemaOID(t, db) == used {
			t.Fatal("a schema a connection still used was reused")
		}
		var n int64
		if err := db.R.Raw("SELECT count(*) FROM pg_namespace WHERE oid = ?", used).Scan(&n).Error; err != nil || n != 0 {
			t.Fatalf("the schema still in use was not dropped: %d, %v", n, err)
		}
	})
}
