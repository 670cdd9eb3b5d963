package models_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// quotedWords are the SQL string literals of a definition ('enrolled',
// 'waitlisted'::text …).
var quotedWords = regexp.MustCompile(`'([a-z_]+)'`)

// statusSet is the sorted, distinct statuses among the literals of def.
func statusSet(def string, known []models.EnrollmentStatus) []string {
	var out []string
	for _, m := range quotedWords.FindAllStringSubmatch(def, -1) {
		if slices.Contains(known, models.EnrollmentStatus(m[1])) && !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

func sortedStrings[S ~string](set []S) []string {
	out := make([]string, len(set))
	for i, s := range set {
		out[i] = string(s)
	}
	slices.Sort(out)
	return out
}

// TestStatusVocabulary: the live set is defined once in Go and every SQL
// list of it agrees — the list rendered into the queries, and what the
// migrated schema holds (every index or constraint on enrollments that
// names a live status names exactly the live set, e.g. the partial unique
// index enrollments_live). A live status added in Go without a migration
// re-creating the index fails here.
func TestStatusVocabulary(t *testing.T) {
	live := sortedStrings(models.LiveStatuses())
	all := models.EnrollmentStatuses()
	if got := statusSet(models.LiveSQL(), all); !slices.Equal(got, live) {
		t.Fatalf("liveSQL %s lists %v, the Go set is %v", models.LiveSQL(), got, live)
	}
	for _, s := range all {
		if s.Phrase() == string(s) || s.Name() == string(s) {
			t.Errorf("status %q has no phrase or name", s)
		}
		if n := len([]rune(s.Phrase())); n > 5 {
			t.Errorf("phrase of %q has %d characters, WeChat's phrase fields hold 5", s, n)
		}
	}
	db := modelstest.MustOpenDB(t)
	var defs []string
	q := `SELECT sql FROM sqlite_master WHERE tbl_name = 'enrollments' AND sql IS NOT NULL`
	if db.Dialect == models.Postgres {
		q = `SELECT indexdef FROM pg_indexes WHERE tablename = 'enrollments' AND schemaname = current_schema()
			UNION ALL SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
			WHERE r.relname = 'enrollments' AND r.relnamespace = current_schema()::regnamespace`
	}
	if err := db.R.WithContext(context.Background()).Raw(q).Scan(&defs).Error; err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, def := range defs {
		got := statusSet(def, all)
		if len(got) == 0 || !slices.ContainsFunc(got, func(s string) bool { return slices.Contains(live, s) }) {
			continue
		}
		checked++
		if !slices.Equal(got, live) {
			t.Errorf("the schema lists %v where the live set is %v:\n%s\n(add a migration that re-creates it)", got, live, def)
		}
	}
	if checked == 0 {
		t.Fatalf("no index on enrollments names the live statuses (enrollments_live missing?): %q", defs)
	}
}

// TestStatusLiteralsOnlyInStatusGo: no SQL in models spells an enrollment or
// outbox status by hand (they are rendered from status.go), so a status
// cannot be renamed or added in one place and forgotten in another.
func TestStatusLiteralsOnlyInStatusGo(t *testing.T) {
	var words []string
	for _, s := range models.EnrollmentStatuses() {
		words = append(words, "'"+string(s)+"'")
	}
	for _, s := range models.OutboxStatuses() {
		words = append(words, "'"+string(s)+"'")
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "status.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, w := range words {
				if strings.Contains(line, w) {
					t.Errorf("%s:%d spells the status %s: render it from status.go (sqlText, sqlList, liveSQL)", f, i+1, w)
				}
			}
		}
	}
}
