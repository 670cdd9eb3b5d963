package models_test

import (
	"context"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestSnapshotVersion: the version a dashboard cache keys on moves with
// every snapshot write of ComputeStats (also one that failed: moving it
// needlessly is safe), not with a rejected call that wrote nothing, and
// per database handle.
func TestSnapshotVersion(t *testing.T) {
	ctx := context.Background()
	db := modelstest.MustOpenDB(t)
	other := modelstest.MustOpenDB(t)
	cases := []struct {
		name  string
		run   func() error
		moves bool
	}{
		{"computeMoves", func() error {
			_, err := models.ComputeStats(ctx, db, "2026-10-15", time.Now())
			return err
		}, true},
		{"recomputeMovesAgain", func() error {
			_, err := models.ComputeStats(ctx, db, "2026-10-15", time.Now())
			return err
		}, true},
		{"badDateWritesNothingNoMove", func() error {
			if _, err := models.ComputeStats(ctx, db, "2026-02-30", time.Now()); err == nil {
				t.Fatal("bad date accepted")
			}
			return nil
		}, false},
		{"cancelledRunMoves", func() error {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			_, _ = models.ComputeStats(cctx, db, "2026-10-16", time.Now())
			return nil
		}, true},
		{"otherHandleNoMove", func() error {
			_, err := models.ComputeStats(ctx, other, "2026-10-15", time.Now())
			return err
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := models.SnapshotVersion(db)
			if err := c.run(); err != nil {
				t.Fatal(err)
			}
			if moved := models.SnapshotVersion(db) != before; moved != c.moves {
				t.Fatalf("version moved = %v, want %v", moved, c.moves)
			}
		})
	}
}
