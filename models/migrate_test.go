package models_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

func TestMigrateIdempotent(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	n, err := models.Migrate(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("second Migrate applied %d migrations, want 0", n)
	}
	ms, _ := models.Migrations()
	var got int64
	db.R.Raw("SELECT COUNT(*) FROM schema_migrations").Scan(&got)
	if int(got) != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", got, len(ms))
	}
}

// TestMigrationsNeverEdited: a migration, once in models/migrations.sha256,
// keeps its bytes. A database that applied version N never applies N again,
// so an edited migration reaches only fresh databases: what changes the
// schema after it shipped is a new migration, whose line is then added.
func TestMigrationsNeverEdited(t *testing.T) {
	b, err := os.ReadFile("migrations.sha256")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("migrations.sha256: bad line %q", line)
		}
		want[name] = sum
	}
	ms, err := models.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		sum := sha256.Sum256([]byte(m.SQL))
		switch w, ok := want[m.Name]; {
		case !ok:
			t.Errorf("%s is not in models/migrations.sha256: add its line (sha256sum) once it is final", m.Name)
		case w != hex.EncodeToString(sum[:]):
			t.Errorf("%s was edited after it shipped: put the change in a new migration", m.Name)
		}
		delete(want, m.Name)
	}
	for name := range want {
		t.Errorf("%s is in models/migrations.sha256 but not in models/migrations: a shipped migration was removed", name)
	}
}
