package models_test

import (
	"context"
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
