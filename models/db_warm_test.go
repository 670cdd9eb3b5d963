package models_test

import (
	"context"
	"testing"

	"gorm.io/gorm"
)

// TestWarmOpensThePools: after Warm every connection a pool may keep is
// open and idle, so a rush right after a start does not open them.
func TestWarmOpensThePools(t *testing.T) {
	db := mustDB(t)
	if err := db.Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, g := range map[string]*gorm.DB{"readers": db.R, "writer": db.W} {
		s, err := g.DB()
		if err != nil {
			t.Fatal(err)
		}
		st := s.Stats()
		if st.OpenConnections != st.MaxOpenConnections || st.Idle != st.OpenConnections {
			t.Fatalf("%s: %d open, %d idle, want all %d open and idle", name, st.OpenConnections, st.Idle, st.MaxOpenConnections)
		}
	}
}
