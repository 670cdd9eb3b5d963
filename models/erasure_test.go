package models_test

import (
	"slices"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// schemaColumns lists (table, column, is text) of the migrated schema of db,
// read from the engine itself.
func schemaColumns(t *testing.T, db *models.DB) map[string]map[string]bool {
	t.Helper()
	type col struct {
		Table  string
		Column string
		Type   string
	}
	var cols []col
	q := `SELECT m.name AS "table", p.name AS "column", p.type AS "type" FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table'`
	if db.Dialect == models.Postgres {
		q = `SELECT table_name AS "table", column_name AS "column", data_type AS "type" FROM information_schema.columns
			WHERE table_schema = current_schema()`
	}
	if err := db.R.Raw(q).Scan(&cols).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	for _, c := range cols {
		if out[c.Table] == nil {
			out[c.Table] = map[string]bool{}
		}
		out[c.Table][c.Column] = c.Type == "TEXT" || c.Type == "text" || c.Type == "character varying"
	}
	return out
}

// TestErasureCoversEveryStudentTable: every table of the schema with a
// student_id column has a rule in models.ErasureRules, and every text
// column of a table whose rows are kept is either rewritten (Erases) or
// declared harmless (Keeps). A new table or free-text column holding a
// child's data fails here until erasure says what it does with it.
func TestErasureCoversEveryStudentTable(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	schema := schemaColumns(t, db)
	rules := map[string]models.ErasureRule{}
	for _, r := range models.ErasureRules {
		rules[r.Table] = r
	}
	var tables []string
	for table, cols := range schema {
		if _, ok := cols["student_id"]; ok {
			tables = append(tables, table)
		}
	}
	if len(tables) < 10 {
		t.Fatalf("found only %d tables with student_id: %v (schema query broken?)", len(tables), tables)
	}
	for _, table := range append(tables, "students") {
		r, ok := rules[table]
		if !ok {
			t.Errorf("table %s has a student_id column but no rule in models.ErasureRules: say what erasing a child does to it", table)
			continue
		}
		if r.Deletes {
			continue
		}
		for c, text := range schema[table] {
			if text && !slices.Contains(r.Erases, c) && !slices.Contains(r.Keeps, c) {
				t.Errorf("text column %s.%s is neither erased nor kept by its erasure rule", table, c)
			}
		}
	}
	for _, r := range models.ErasureRules {
		cols, ok := schema[r.Table]
		if !ok {
			t.Errorf("erasure rule for %s, which is not in the schema", r.Table)
		}
		for _, c := range append(slices.Clone(r.Erases), r.Keeps...) {
			if _, ok := cols[c]; !ok {
				t.Errorf("erasure rule names %s.%s, which is not in the schema", r.Table, c)
			}
		}
		if r.Does == "" || (r.Deletes && len(r.SQL) == 0) || (len(r.Erases) > 0 && len(r.SQL) == 0) {
			t.Errorf("erasure rule for %s is incomplete: %+v", r.Table, r)
		}
	}
}
