package modelstest

import (
	"context"
	"fmt"
	"testing"

	"kehou/models"
)

// sqliteDump is the catalog of db and the rows of every table (the
// migrations' times left out), in a stable order.
func sqliteDump(t *testing.T, db *models.DB) []string {
	t.Helper()
	var out []string
	type obj struct{ Type, Name, SQL string }
	var objs []obj
	if err := db.R.Raw("SELECT type, name, COALESCE(sql, '') AS sql FROM sqlite_master ORDER BY type, name").Scan(&objs).Error; err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		out = append(out, fmt.Sprintf("%s %s %s", o.Type, o.Name, o.SQL))
		if o.Type != "table" {
			continue
		}
		q := "SELECT * FROM " + o.Name
		if o.Name == "schema_migrations" {
			q = "SELECT version, name FROM schema_migrations"
		}
		rows, err := db.R.Raw(q).Rows()
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for rows.Next() {
			m := map[string]any{}
			if err := db.R.ScanRows(rows, &m); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprint(m))
		}
		rows.Close()
		out = append(out, fmt.Sprintf("%s: %d rows %v", o.Name, len(lines), lines))
	}
	return out
}

// TestSQLiteTemplate: on SQLite a test's database copied from the
// process's template is what migrating a new file gives, row for row.
func TestSQLiteTemplate(t *testing.T) {
	if PostgresURL() != "" {
		t.Skip("the template file is SQLite's (TEST_DATABASE_URL unset)")
	}
	copied := MustOpenDB(t)
	migrated, err := models.Open(URL(t), models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = migrated.Close() })
	if n, err := models.Migrate(context.Background(), migrated); err != nil || n == 0 {
		t.Fatalf("migrate a new file: %d, %v", n, err)
	}
	a, b := sqliteDump(t, copied), sqliteDump(t, migrated)
	for i := 0; i < len(a) || i < len(b); i++ {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			t.Fatalf("a copy of the template differs from a migrated file at line %d:\n%q\n%q", i, a[min(i, len(a)-1)], b[min(i, len(b)-1)])
		}
	}
	if n, err := models.Migrate(context.Background(), copied); err != nil || n != 0 {
		t.Fatalf("the copy is not fully migrated: %d applied, %v", n, err)
	}
	r := Region(t, copied, nil)
	if r.ID != 1 {
		t.Errorf("first region id = %d, want 1", r.ID)
	}
}
