package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestProductionRefusesSeededDatabase: a database `kehou seed demo` loaded
// in development (its accounts share a published password) is refused by
// a production server, with a message that says how to start clean; an
// unseeded database serves, and a seeded one still serves in development
// (issue 20 item 9). A database seeded before the mark existed is
// recognised by the demo's accounts when migration 0062 runs.
func TestProductionRefusesSeededDatabase(t *testing.T) {
	url := modelstest.URL(t)
	db := modelstest.Open(t, url)
	ctx := context.Background()
	env := func(mode string) func(string) string {
		return envFor("DATABASE_URL", url, "LISTEN_ADDR", freeAddr(t), "KEHOU_ENV", mode,
			"WECHAT_APPID", "wx-test-app", "WECHAT_SECRET", "wx-test-secret")
	}
	// serves starts the server and stops it again once it answers.
	serves := func(t *testing.T, env func(string) string) error {
		t.Helper()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- run(ctx, nil, env, &bytes.Buffer{}, &syncWriter{w: &bytes.Buffer{}}) }()
		up := make(chan error, 1)
		go func() { up <- waitUp("http://" + env("LISTEN_ADDR") + "/healthz") }()
		select {
		case err := <-errc:
			return err
		case err := <-up:
			if err != nil {
				return err
			}
		}
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(15 * time.Second):
			t.Fatal("run did not return after shutdown")
		}
		return nil
	}
	t.Run("unseededServesInProduction", func(t *testing.T) {
		if err := serves(t, env("production")); err != nil {
			t.Fatal(err)
		}
	})
	refused := func(t *testing.T) {
		t.Helper()
		err := serves(t, env("production"))
		if !errors.Is(err, errSeededInProduction) {
			t.Fatalf("production on a seeded database: %v", err)
		}
		for _, want := range []string{"seed demo", "DATABASE_URL", "kehou user add"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the refusal does not say %q: %v", want, err)
			}
		}
	}
	t.Run("seededBeforeTheMarkRefused", func(t *testing.T) {
		if _, err := models.CreateUser(ctx, db, models.SystemActor, models.NewUser{Username: "demo_platform",
			Password: "kehou2026", Role: models.RolePlatformAdmin}); err != nil {
			t.Fatal(err)
		}
		// The database as it was before migration 0062: run migrates it.
		for _, q := range []string{"DROP TABLE seed_marks", "DELETE FROM schema_migrations WHERE version = 62"} {
			if err := db.W.Exec(q).Error; err != nil {
				t.Fatal(err)
			}
		}
		refused(t)
	})
	t.Run("seedMarkRefused", func(t *testing.T) {
		if err := db.W.Exec("DELETE FROM seed_marks").Error; err != nil {
			t.Fatal(err)
		}
		if err := models.MarkSeeded(ctx, db, models.SeedDemo, time.Now()); err != nil {
			t.Fatal(err)
		}
		refused(t)
	})
	t.Run("seededServesInDev", func(t *testing.T) {
		if err := serves(t, env("dev")); err != nil {
			t.Fatal(err)
		}
	})
}
